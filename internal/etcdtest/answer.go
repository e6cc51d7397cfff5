package etcdtest

import (
	"encoding/json"
	"strconv"
)

// HeaderRevision extracts the top-level header revision of an etcd v3
// JSON body (a string, as the gateway encodes int64s); ok is false when
// the body has none.
func HeaderRevision(body string) (rev int64, ok bool) {
	var v struct {
		Header struct {
			Revision string `json:"revision"`
		} `json:"header"`
	}
	if json.Unmarshal([]byte(body), &v) != nil || v.Header.Revision == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v.Header.Revision, 10, 64)
	return n, err == nil
}
