package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cloudpillar/cloudpillar/agent/update"
	"github.com/cloudpillar/cloudpillar/hubsim/sas"
)

// serviceAPIVersion is the IoT Hub REST api-version deploy speaks.
const serviceAPIVersion = "2021-04-12"

type deployFlags struct {
	dir, state, url, workflow string
	devices                   listFlag
}

// runUpdatesDeploy sets each device's desired deviceUpdate.service, as
// Azure Device Update does, through the hub's service REST API.
func runUpdatesDeploy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f deployFlags
	flags := flag.NewFlagSet("updates deploy", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.StringVar(&f.dir, "dir", "", "signed update `DIR` (required)")
	flags.StringVar(&f.state, "state", defaultStateDir, "hub state `DIR` (hub.json holds the service connection string)")
	flags.Var(&f.devices, "device", "device `ID` to deploy to (repeatable, or comma-separated; required)")
	flags.StringVar(&f.url, "url", "", "base `URL` serving the payload files by name (default: the URLs updates publish wrote to DIR/published.json)")
	flags.StringVar(&f.workflow, "workflow", "", "deployment workflow `ID` (default: <version>-<unix time>)")
	if help, err := parseCommandFlags(flags, args, "updates deploy"); help || err != nil {
		return err
	}
	if f.dir == "" || len(f.devices) == 0 {
		return fmt.Errorf("%w: updates deploy: --dir and --device are required", errUsage)
	}
	su, err := deployment(f, time.Now())
	if err != nil {
		return fmt.Errorf("updates deploy: %w", err)
	}
	info, err := readHubInfo(f.state)
	if err != nil {
		return fmt.Errorf("updates deploy: hub state: %w (run `cloudpillar hub --state %s` first)", err, f.state)
	}
	svc, err := newServiceClient(info)
	if err != nil {
		return fmt.Errorf("updates deploy: %w", err)
	}
	patch := map[string]any{"properties": map[string]any{"desired": map[string]any{
		update.ComponentName: map[string]any{"__t": "c", "service": su},
	}}}
	var errs []error
	for _, id := range f.devices {
		if err := svc.patchTwin(ctx, id, patch); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", id, err))
			continue
		}
		fmt.Fprintf(stdout, "deployed workflow %s to %s\n", su.Workflow.ID, id)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("updates deploy: %w", err)
	}
	return nil
}

// deployment builds the desired deviceUpdate.service from a signed update
// directory.
func deployment(f deployFlags, now time.Time) (update.ServiceUpdate, error) {
	m, raw, err := readManifest(f.dir)
	if err != nil {
		return update.ServiceUpdate{}, err
	}
	sig, err := os.ReadFile(filepath.Join(f.dir, signatureFile))
	if err != nil {
		return update.ServiceUpdate{}, fmt.Errorf("%w (sign it with `cloudpillar updates sign --dir %s`)", err, f.dir)
	}
	urls, err := fileURLs(f, m)
	if err != nil {
		return update.ServiceUpdate{}, err
	}
	wf := f.workflow
	if wf == "" {
		wf = fmt.Sprintf("%s-%d", m.UpdateID.Version, now.Unix())
	}
	return update.ServiceUpdate{
		Workflow:       update.Workflow{Action: update.ActionApply, ID: wf},
		UpdateManifest: string(raw), UpdateManifestSignature: strings.TrimSpace(string(sig)), FileURLs: urls,
	}, nil
}

// fileURLs maps each file's URL key to where devices download it: under
// --url by name, else the URL updates publish recorded.
func fileURLs(f deployFlags, m update.Manifest) (map[string]string, error) {
	urls := make(map[string]string, len(m.Files))
	if f.url != "" {
		for _, fe := range m.Files {
			urls[fe.URLKey()] = strings.TrimSuffix(f.url, "/") + "/" + url.PathEscape(fe.Name)
		}
		return urls, nil
	}
	var p published
	b, err := os.ReadFile(filepath.Join(f.dir, publishedFile))
	if err == nil {
		err = json.Unmarshal(b, &p)
	}
	if err != nil {
		return nil, fmt.Errorf("no --url and no %s (run `cloudpillar updates publish --dir %s` first): %w", publishedFile, f.dir, err)
	}
	for _, fe := range m.Files {
		u := p.Files[fe.Name]
		if u == "" {
			return nil, fmt.Errorf("%s has no URL for file %q (run `cloudpillar updates publish --dir %s` again)", publishedFile, fe.Name, f.dir)
		}
		urls[fe.URLKey()] = u
	}
	return urls, nil
}

// serviceClient calls the hub's service REST API with a SAS token from
// the service connection string, and its blob endpoint with blob SAS URLs.
type serviceClient struct {
	base          string // https://addr
	host, keyName string
	key           string
	http          *http.Client // REST calls: 30 s each
	blob          *http.Client // blob transfers: no overall limit, 30 s for headers
}

func newServiceClient(info hubInfo) (*serviceClient, error) {
	c := &serviceClient{host: info.HostName}
	for _, part := range strings.Split(info.ServiceConnectionString, ";") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "SharedAccessKeyName":
			c.keyName = v
		case "SharedAccessKey":
			c.key = v
		}
	}
	if c.keyName == "" || c.key == "" {
		return nil, errors.New("hub.json: the service connection string has no shared access key")
	}
	ca, err := os.ReadFile(info.CAFile)
	if err != nil {
		return nil, fmt.Errorf("hub CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("hub CA %s: no certificate", info.CAFile)
	}
	addr := info.HTTPSAddress
	if host, port, err := net.SplitHostPort(addr); err == nil {
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
	}
	c.base = "https://" + addr
	// Every request goes to the hub: blob URLs name it by its host name
	// (hub.json's hostName), which need not resolve on this machine.
	dialer := &net.Dialer{Timeout: 30 * time.Second}
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: info.HostName, MinVersion: tls.VersionTLS12},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		},
		ResponseHeaderTimeout: 30 * time.Second,
	}
	c.http = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	c.blob = &http.Client{Transport: tr}
	return c, nil
}

// token is a service SAS token valid for an hour.
func (c *serviceClient) token() (string, error) {
	return sas.Sign(c.host, c.key, c.keyName, time.Now().Add(time.Hour))
}

// patchTwin PATCHes /twins/{id} with body.
func (c *serviceClient) patchTwin(ctx context.Context, id string, body any) error {
	return c.call(ctx, http.MethodPatch, "/twins/"+url.PathEscape(id)+"?api-version="+serviceAPIVersion, body, nil)
}

// call sends body (nil: none) as JSON to the hub's path and decodes a
// 2xx answer into out (nil: ignored).
func (c *serviceClient) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(raw)
	}
	tok, err := c.token()
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", tok)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("hub answered %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	if out != nil {
		return json.Unmarshal(msg, out)
	}
	return nil
}
