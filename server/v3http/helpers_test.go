package v3http

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
)

// newHTTPServer serves h on a loopback httptest server closed at cleanup.
func newHTTPServer(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// matchFull reports whether s matches pattern, where pattern is a literal
// string except for "[0-9]+", which matches a decimal number.
func matchFull(pattern, s string) bool {
	re := regexp.QuoteMeta(pattern)
	re = regexp.MustCompile(`\\\[0-9\\\]\\\+`).ReplaceAllString(re, `[0-9]+`)
	return regexp.MustCompile("^" + re + "$").MatchString(s)
}
