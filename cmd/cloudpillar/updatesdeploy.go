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

// published is DIR/published.json.
type published struct {
	BaseURL string `json:"baseUrl"`
}

// runUpdatesPublish serves DIR/files over HTTP until ctx ends, recording
// the base URL in DIR/published.json for deploy.
func runUpdatesPublish(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("updates publish", flag.ContinueOnError)
	flags.SetOutput(stderr)
	dir := flags.String("dir", "", "update `DIR` (required)")
	listen := flags.String("listen", "127.0.0.1:8480", "listen `ADDR` (devices must reach it)")
	if help, err := parseCommandFlags(flags, args, "updates publish"); help || err != nil {
		return err
	}
	if *dir == "" {
		return fmt.Errorf("%w: updates publish: --dir is required", errUsage)
	}
	if _, err := os.Stat(filepath.Join(*dir, filesDir)); err != nil {
		return fmt.Errorf("updates publish: %w", err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("updates publish: %w", err)
	}
	base := "http://" + ln.Addr().String()
	raw, _ := json.Marshal(published{BaseURL: base})
	if err := os.WriteFile(filepath.Join(*dir, publishedFile), raw, 0o644); err != nil {
		ln.Close()
		return fmt.Errorf("updates publish: %w", err)
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(filepath.Join(*dir, filesDir))), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "serving %s at %s (Ctrl-C stops)\n", filepath.Join(*dir, filesDir), base)
	select {
	case err := <-done:
		return fmt.Errorf("updates publish: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	<-done
	return nil
}

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
	flags.StringVar(&f.url, "url", "", "base `URL` of the payload files (default: DIR/published.json)")
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
	raw, err := os.ReadFile(filepath.Join(f.dir, manifestFile))
	if err != nil {
		return update.ServiceUpdate{}, err
	}
	sig, err := os.ReadFile(filepath.Join(f.dir, signatureFile))
	if err != nil {
		return update.ServiceUpdate{}, fmt.Errorf("%w (sign it with `cloudpillar updates sign --dir %s`)", err, f.dir)
	}
	var m update.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return update.ServiceUpdate{}, fmt.Errorf("%s: %w", manifestFile, err)
	}
	base := f.url
	if base == "" {
		var p published
		b, err := os.ReadFile(filepath.Join(f.dir, publishedFile))
		if err == nil {
			err = json.Unmarshal(b, &p)
		}
		if err != nil || p.BaseURL == "" {
			return update.ServiceUpdate{}, fmt.Errorf("no --url and no %s (publish it first): %v", publishedFile, err)
		}
		base = p.BaseURL
	}
	urls := make(map[string]string, len(m.Files))
	for _, fe := range m.Files {
		urls[fe.URLKey()] = strings.TrimSuffix(base, "/") + "/" + url.PathEscape(fe.Name)
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

// serviceClient calls the hub's service REST API with a SAS token from
// the service connection string.
type serviceClient struct {
	base          string // https://addr
	host, keyName string
	key           string
	http          *http.Client
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
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: info.HostName}}
	c.http = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	return c, nil
}

// token is a service SAS token valid for an hour.
func (c *serviceClient) token() (string, error) {
	return sas.Sign(c.host, c.key, c.keyName, time.Now().Add(time.Hour))
}

// patchTwin PATCHes /twins/{id} with body.
func (c *serviceClient) patchTwin(ctx context.Context, id string, body any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	tok, err := c.token()
	if err != nil {
		return err
	}
	u := c.base + "/twins/" + url.PathEscape(id) + "?api-version=" + serviceAPIVersion
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, u, bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("hub answered %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}
