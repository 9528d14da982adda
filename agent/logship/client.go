package logship

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// blobVersion is the x-ms-version sent to the blob endpoint.
const blobVersion = "2019-12-12"

// client speaks IoT Hub's file upload API and the Blob REST operations
// over HTTPS with the device's client certificate. Safe for concurrent use.
type client struct {
	cfg    *Config
	http   *http.Client
	tr     *http.Transport
	cert   atomic.Pointer[tls.Certificate]
	target atomic.Pointer[hubTarget]
}

// hubTarget is the hub the device uploads through: its identity there,
// the hub's logical host name (the URL host) and where to dial it.
type hubTarget struct {
	deviceID, host, addr string
}

// errNoHub: the device does not know its hub yet (provisioning through
// DPS has not assigned one); the job waits and retries.
var errNoHub = errors.New("logship: the hub is not known yet (waiting for provisioning)")

func newClient(cfg *Config) *client {
	c := &client{cfg: cfg}
	c.cert.Store(&cfg.Certificate)
	c.target.Store(&hubTarget{deviceID: cfg.DeviceID, host: cfg.HostName, addr: cfg.Address})
	c.tr = &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if t := c.target.Load(); t.host != "" && addr == net.JoinHostPort(t.host, "443") {
				addr = t.addr // the hub's logical name, dialled where configured
			}
			return cfg.Dial(ctx, network, addr)
		},
		TLSClientConfig: &tls.Config{
			RootCAs:    cfg.RootCAs,
			MinVersion: tls.VersionTLS12,
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
				return c.cert.Load(), nil
			},
		},
		TLSHandshakeTimeout: 30 * time.Second,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     60 * time.Second,
	}
	c.http = &http.Client{
		Transport:     c.tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c
}

func (c *client) close() { c.tr.CloseIdleConnections() }

// setHub points the client at another hub (or identity there).
func (c *client) setHub(t hubTarget) {
	c.target.Store(&t)
	c.close()
}

func (c *client) hubURL(path string) (string, error) {
	t := c.target.Load()
	if t.host == "" {
		return "", errNoHub
	}
	return "https://" + t.host + "/devices/" + url.PathEscape(t.deviceID) + path +
		"?api-version=" + url.QueryEscape(c.cfg.APIVersion), nil
}

// start asks the hub for a SAS URI for blobName (POST /devices/{id}/files).
func (c *client) start(ctx context.Context, blobName string) (sasLink, error) {
	u, err := c.hubURL("/files")
	if err != nil {
		return sasLink{}, err
	}
	body, _ := json.Marshal(map[string]string{"blobName": blobName})
	resp, err := c.do(ctx, opStart, http.MethodPost, u, jsonHeader, bytes.NewReader(body), int64(len(body)))
	if err != nil {
		return sasLink{}, err
	}
	defer resp.Body.Close()
	var l sasLink
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&l); err != nil {
		return sasLink{}, fmt.Errorf("%s: read answer: %w", opStart, err)
	}
	if l.CorrelationID == "" || l.HostName == "" || l.ContainerName == "" || l.BlobName == "" {
		return sasLink{}, fmt.Errorf("%s: answer lacks correlationId, hostName, containerName or blobName", opStart)
	}
	return l, nil
}

// notify reports the upload's outcome (POST /devices/{id}/files/notifications).
func (c *client) notify(ctx context.Context, correlationID string, ok bool, status int, desc string) error {
	body, _ := json.Marshal(map[string]any{
		"correlationId": correlationID, "isSuccess": ok, "statusCode": status, "statusDescription": desc,
	})
	u, err := c.hubURL("/files/notifications")
	if err != nil {
		return err
	}
	resp, err := c.do(ctx, opNotify, http.MethodPost, u, jsonHeader, bytes.NewReader(body), int64(len(body)))
	if err != nil {
		return err
	}
	return drain(resp)
}

// blobURL is the blob's URL with its SAS and extra query parameters.
func blobURL(l sasLink, extra string) string {
	segs := strings.Split(l.BlobName, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	q := strings.TrimPrefix(l.SASToken, "?")
	if extra != "" {
		if q != "" {
			q += "&"
		}
		q += extra
	}
	return "https://" + l.HostName + "/" + url.PathEscape(l.ContainerName) + "/" + strings.Join(segs, "/") + "?" + q
}

// putBlock stages one block (Put Block).
func (c *client) putBlock(ctx context.Context, l sasLink, id string, body io.Reader, size int, sum []byte) error {
	h := http.Header{"x-ms-version": {blobVersion}, "Content-MD5": {b64(sum)}}
	resp, err := c.do(ctx, opBlock, http.MethodPut, blobURL(l, "comp=block&blockid="+url.QueryEscape(id)), h, body, int64(size))
	if err != nil {
		return err
	}
	return drain(resp)
}

// putBlockList commits ids as the blob's content (Put Block List), with
// its content type, MD5 and metadata (x-ms-meta-*; names must be C#
// identifiers, at most 8 KiB in all).
func (c *client) putBlockList(ctx context.Context, l sasLink, ids []string, md5sum []byte, meta map[string]string) error {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><BlockList>`)
	for _, id := range ids {
		b.WriteString("<Latest>" + id + "</Latest>")
	}
	b.WriteString("</BlockList>")
	h := http.Header{
		"x-ms-version":           {blobVersion},
		"Content-Type":           {"application/xml"},
		"x-ms-blob-content-type": {"application/gzip"},
		"x-ms-blob-content-md5":  {b64(md5sum)},
	}
	for k, v := range meta {
		h["x-ms-meta-"+k] = []string{v} // as given: Azure keeps a metadata name's case
	}
	resp, err := c.do(ctx, opCommit, http.MethodPut, blobURL(l, "comp=blocklist"), h, strings.NewReader(b.String()), int64(b.Len()))
	if err != nil {
		return err
	}
	return drain(resp)
}

// uncommitted lists the blob's uncommitted block ids (Get Block List).
func (c *client) uncommitted(ctx context.Context, l sasLink) (map[string]bool, error) {
	h := http.Header{"x-ms-version": {blobVersion}}
	resp, err := c.do(ctx, opList, http.MethodGet, blobURL(l, "comp=blocklist&blocklisttype=uncommitted"), h, nil, 0)
	var se *StatusError
	if errors.As(err, &se) && se.Status == http.StatusNotFound {
		return map[string]bool{}, nil // BlobNotFound: no block staged at all
	}
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var list struct {
		Blocks []struct {
			Name string `xml:"Name"`
		} `xml:"UncommittedBlocks>Block"`
	}
	if err := xml.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(&list); err != nil {
		return nil, fmt.Errorf("%s: read answer: %w", opList, err)
	}
	out := map[string]bool{}
	for _, b := range list.Blocks {
		out[b.Name] = true
	}
	return out, nil
}

var jsonHeader = http.Header{"Content-Type": {"application/json; charset=utf-8"}}

// do sends one request and returns a 2xx response; anything else is a
// *StatusError.
func (c *client) do(ctx context.Context, op, method, u string, h http.Header, body io.Reader, size int64) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	if body != nil {
		req.ContentLength = size
		if size == 0 {
			req.Body = http.NoBody
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", op, cause)
		}
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, statusError(op, resp)
	}
	return resp, nil
}

// statusError reads an error answer: the code from iothub-errorcode or
// x-ms-error-code, the message from the JSON or XML body.
func statusError(op string, resp *http.Response) *StatusError {
	e := &StatusError{Op: op, Status: resp.StatusCode, Code: resp.Header.Get("iothub-errorcode")}
	if e.Code == "" {
		e.Code = resp.Header.Get("x-ms-error-code")
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	var j struct{ Message string }
	var x struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	switch {
	case json.Unmarshal(raw, &j) == nil && j.Message != "":
		e.Message = j.Message
	case xml.Unmarshal(raw, &x) == nil && x.Message != "":
		e.Message = x.Message
		if e.Code == "" {
			e.Code = x.Code
		}
	}
	if i := strings.IndexAny(e.Message, "\r\n"); i >= 0 {
		e.Message = e.Message[:i] // Azure appends RequestId and Time on later lines
	}
	e.Message = clip(e.Message, 200)
	return e
}

// drain reads the rest of a success answer so the connection is reused;
// a body that breaks off is an error (a truncated response).
func drain(resp *http.Response) error {
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)); err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	return nil
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
