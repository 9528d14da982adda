//go:build windows

package logship

import (
	"os"
	"syscall"
)

// identify returns the file's volume serial number and file index.
func identify(f *os.File, _ os.FileInfo) fileID {
	var d syscall.ByHandleFileInformation
	if err := syscall.GetFileInformationByHandle(syscall.Handle(f.Fd()), &d); err != nil {
		return fileID{}
	}
	return fileID{Vol: uint64(d.VolumeSerialNumber), Index: uint64(d.FileIndexHigh)<<32 | uint64(d.FileIndexLow)}
}

// openShared opens path for reading while letting the device's logger
// rename (rotate) or delete it: os.Open would refuse it FILE_SHARE_DELETE,
// and a log the device cannot rotate is a device slowed by the agent.
func openShared(path string) (*os.File, error) {
	p, err := syscall.UTF16PtrFromString(path)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	h, err := syscall.CreateFile(p, syscall.GENERIC_READ,
		syscall.FILE_SHARE_READ|syscall.FILE_SHARE_WRITE|syscall.FILE_SHARE_DELETE,
		nil, syscall.OPEN_EXISTING, syscall.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(h), path), nil
}
