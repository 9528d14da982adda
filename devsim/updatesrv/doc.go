// Package updatesrv is the harness's update file server: a real HTTP or
// HTTPS server on 127.0.0.1:0 that serves published update payloads with
// Range and If-Range support (net/http's ServeContent), so the agent's
// resumable download is exercised against real sockets. Per-file faults
// make it misbehave the way hostile or broken servers do: a slow trickle,
// a truncated body, an HTTP error status, wrong bytes, an endless stream,
// or a Range request answered with the whole file. Every request is
// recorded. Deploy signs a manifest (agent/update/updatetest) whose file
// URLs point at the server.
//
// A Server is safe for concurrent use; Close stops it and waits for its
// handlers.
//
// Imports: the standard library, agent/update and agent/update/updatetest.
package updatesrv
