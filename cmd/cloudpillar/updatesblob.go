package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/cloudpillar/cloudpillar/agent/update"
	"github.com/cloudpillar/cloudpillar/hubsim/blob"
)

// publishBlockSize is the Put Block size publish uploads in (Azure's
// SDKs' default block size for large blobs).
const publishBlockSize = 4 << 20

// blobVersion is the x-ms-version publish speaks to the blob endpoint.
const blobVersion = "2021-08-06"

// publishFile uploads the file at path as the hub's update blob name,
// checks the published copy against fe, and returns its download URL.
func (c *serviceClient) publishFile(ctx context.Context, name, path string, fe update.FileEntry) (string, error) {
	var urls struct {
		UploadURL   string `json:"uploadUrl"`
		DownloadURL string `json:"downloadUrl"`
	}
	if err := c.call(ctx, http.MethodPost, "/_sim/updates/"+blob.EscapePath(name), nil, &urls); err != nil {
		return "", fmt.Errorf("ask the hub where to publish: %w", err)
	}
	if err := c.putBlocks(ctx, urls.UploadURL, path); err != nil {
		return "", fmt.Errorf("upload: %w", err)
	}
	if err := c.checkPublished(ctx, urls.DownloadURL, fe); err != nil {
		return "", fmt.Errorf("check the published copy: %w", err)
	}
	return urls.DownloadURL, nil
}

// putBlocks uploads the file at path to a blob SAS URL as Azure's SDKs do
// for large files: Put Block per publishBlockSize bytes with Content-MD5,
// block IDs the base64 of a fixed-width counter, then Put Block List
// with the whole file's MD5.
func (c *serviceClient) putBlocks(ctx context.Context, blobURL, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	whole, buf := md5.New(), make([]byte, publishBlockSize)
	list := []byte(xml.Header + "<BlockList>")
	for i := 0; ; i++ {
		n, rerr := io.ReadFull(f, buf)
		if n > 0 {
			id := base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "%08d", i))
			sum := md5.Sum(buf[:n])
			err := c.blobDo(ctx, http.MethodPut, blobURL+"&comp=block&blockid="+url.QueryEscape(id), buf[:n], http.StatusCreated,
				"Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
			if err != nil {
				return fmt.Errorf("put block %d: %w", i, err)
			}
			whole.Write(buf[:n])
			list = append(list, "<Latest>"+id+"</Latest>"...)
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	list = append(list, "</BlockList>"...)
	err = c.blobDo(ctx, http.MethodPut, blobURL+"&comp=blocklist", list, http.StatusCreated,
		"x-ms-blob-content-md5", base64.StdEncoding.EncodeToString(whole.Sum(nil)),
		"x-ms-blob-content-type", "application/octet-stream")
	if err != nil {
		return fmt.Errorf("put block list: %w", err)
	}
	return nil
}

// checkPublished downloads the file as a device would and compares its
// size and SHA-256 with the manifest's.
func (c *serviceClient) checkPublished(ctx context.Context, downloadURL string, fe update.FileEntry) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, downloadURL, nil)
	if err != nil {
		return errors.New("the download URL does not parse")
	}
	resp, err := c.blob.Do(req)
	if err != nil {
		return redact(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return blobError(resp)
	}
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(resp.Body, fe.SizeInBytes+1))
	if err != nil {
		return redact(err)
	}
	if got := base64.StdEncoding.EncodeToString(h.Sum(nil)); n != fe.SizeInBytes || got != fe.Hashes.SHA256 {
		return fmt.Errorf("the hub serves %d bytes with SHA-256 %s; the manifest says %d bytes, %s (does DIR/files still hold what updates create copied?)",
			n, got, fe.SizeInBytes, fe.Hashes.SHA256)
	}
	return nil
}

// blobDo sends one blob request and wants status back.
func (c *serviceClient) blobDo(ctx context.Context, method, u string, body []byte, want int, hdr ...string) error {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return errors.New("the blob URL does not parse")
	}
	req.Header.Set("x-ms-version", blobVersion)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.blob.Do(req)
	if err != nil {
		return redact(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		return blobError(resp)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return nil
}

// blobError describes an error answer of the blob endpoint: the status
// and its x-ms-error-code, and the first line of the message.
func blobError(resp *http.Response) error {
	var body struct{ Code, Message string }
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	_ = xml.Unmarshal(raw, &body)
	msg, _, _ := strings.Cut(body.Message, "\n")
	return fmt.Errorf("blob endpoint answered %s %s: %s", resp.Status, resp.Header.Get("x-ms-error-code"), msg)
}

// redact drops the URL (and its SAS) from a client error.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s blob: %w", ue.Op, ue.Err)
	}
	return err
}
