// Package hostlink is the agent's adapter for real hardware: a small local
// HTTP API through which the clinical software on the device tells the agent
// whether a patient case is live and how the device is doing. Link
// implements device.Device; README.md in this folder is the integrator's
// guide to the API.
//
// Transport. HTTP/1.1 over a Unix domain socket (default
// /run/cloudpillar/hostlink.sock, mode 0660) on Linux and other Unix
// systems, loopback TCP (default 127.0.0.1:47800) on Windows or when
// configured. Only loopback and Unix sockets: New refuses any other
// address. Every request must carry "Authorization: Bearer <token>" with
// the token read from a 0600 file when the Link is made.
//
// Patient first (DESIGN.md decision 6). The case state starts Unknown,
// becomes Live on /v1/case/start and Idle on /v1/case/stop. If no accepted
// start, stop or heartbeat arrives within the link timeout, CaseState
// reports Unknown, which the agent treats as live; when the host returns it
// must state its case again (the old state is forgotten). A case request
// that is authenticated but malformed also sets Unknown. Time comes from an
// injected Clock; the link timeout is evaluated when asked, so no timer
// goroutine exists.
//
// PHI. Case ids are never stored or logged; only a keyed hash (HMAC-SHA256
// with a per-process random key, truncated) appears in logs, so one case's
// start and stop can be matched within a run without revealing the id.
//
// Lifecycle and concurrency. New validates the Config, reads the token and
// binds the listener but starts no goroutine. Serve(ctx) serves until ctx
// ends or Close is called and returns after the HTTP server has shut down;
// Close(ctx) stops serving and waits for Serve, honouring ctx's deadline.
// CaseState, Metrics and Addr are safe for concurrent use; one mutex guards
// the state the handlers write.
//
// Imports: the standard library and agent/device only.
package hostlink
