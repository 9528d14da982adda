// Package devsim runs a fleet of virtual CARTO devices, each running the real
// agent in-process over real loopback TLS to hubsim, every connection passing
// through the chaos layer's per-site fault wrapper.
//
// Fleet owns one goroutine per device agent; Close cancels them and waits.
// Device starts are staggered over a window so a fleet does not stampede the
// hub. Fleet methods are safe for concurrent use after Start.
//
// devsim imports agent, hubsim and chaos.
package devsim
