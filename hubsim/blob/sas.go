package blob

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strings"
	"time"
)

// SASVersion is the sv of the service SAS tokens hubsim issues (IoT Hub's
// file-upload SAS URIs carry a 2018-era version too).
const SASVersion = "2018-03-28"

// sasTime is the ISO 8601 form of st and se.
const sasTime = "2006-01-02T15:04:05Z"

// signSAS returns a blob service SAS query string (no leading '?') for
// one blob with permissions perms (e.g. "rcw") until expiry.
func signSAS(key []byte, account, container, blob, perms string, expiry time.Time) string {
	q := url.Values{}
	q.Set("sv", SASVersion)
	q.Set("sr", "b")
	q.Set("sp", perms)
	q.Set("se", expiry.UTC().Format(sasTime))
	sig := signature(key, account, container, blob, q)
	// IoT Hub's order: sv, sr, sig, se, sp.
	return "sv=" + SASVersion + "&sr=b&sig=" + url.QueryEscape(sig) + "&se=" + url.QueryEscape(q.Get("se")) + "&sp=" + url.QueryEscape(perms)
}

// signature is the service SAS signature of the 2015-04-05 to 2018-03-28
// string-to-sign: sp, st, se, canonical resource, si, sip, spr, sv, rscc,
// rscd, rsce, rscl, rsct, one per line.
func signature(key []byte, account, container, blob string, q url.Values) string {
	parts := []string{
		q.Get("sp"), q.Get("st"), q.Get("se"),
		"/blob/" + account + "/" + container + "/" + blob,
		q.Get("si"), q.Get("sip"), q.Get("spr"), q.Get("sv"),
		q.Get("rscc"), q.Get("rscd"), q.Get("rsce"), q.Get("rscl"), q.Get("rsct"),
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(strings.Join(parts, "\n")))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// checkSAS verifies the SAS in req's query for its blob: signature,
// resource type b, start and expiry around now, and permission need
// ('r' to read; 'w' or 'c' to write).
func checkSAS(key []byte, account string, req Request, need byte, now time.Time) *Error {
	q := req.Query
	sig := q.Get("sig")
	if sig == "" {
		return errAuth("No shared access signature in the request.")
	}
	got, err := base64.StdEncoding.DecodeString(sig)
	want, _ := base64.StdEncoding.DecodeString(signature(key, account, req.Container, req.Blob, q))
	if err != nil || !hmac.Equal(got, want) {
		return errAuth("Signature did not match.")
	}
	if q.Get("sr") != "b" {
		return errAuth("Signed resource must be b.")
	}
	se, err := time.Parse(sasTime, q.Get("se"))
	if err != nil || !now.Before(se) {
		return errAuth("Signed expiry time must be after the current time.")
	}
	if st := q.Get("st"); st != "" {
		if start, err := time.Parse(sasTime, st); err != nil || now.Before(start) {
			return errAuth("Signed start time must be before the current time.")
		}
	}
	sp := q.Get("sp")
	ok := strings.IndexByte(sp, need) >= 0 || need == 'w' && strings.IndexByte(sp, 'c') >= 0
	if !ok {
		return errPermission()
	}
	return nil
}
