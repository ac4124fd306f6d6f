package lokerwatch

import (
	"net/http"
	"time"
)

// Exchange is one HTTP request and response as the crawler saw them on the
// wire, kept so that pages yielding flagged ads can be archived as WARC.
type Exchange struct {
	URL       string    `json:"url"`
	Method    string    `json:"method"`
	FetchedAt time.Time `json:"fetched_at"` // when the request was sent
	RemoteIP  string    `json:"remote_ip"`  // address actually connected to

	RequestHeader http.Header `json:"request_header"`
	// RequestLine and StatusLine as sent and received, e.g.
	// "GET /job/1 HTTP/1.1" and "HTTP/1.1 200 OK".
	RequestLine    string      `json:"request_line"`
	StatusLine     string      `json:"status_line"`
	Status         int         `json:"status"`
	ResponseHeader http.Header `json:"response_header"`
	// RawBody is the response body as received after de-chunking, still
	// content-encoded (gzip stays gzip): what WARC-Payload-Digest covers.
	RawBody []byte `json:"-"`
	// Body is RawBody decoded (decompressed), limited to crawl.max_body.
	Body []byte `json:"-"`
	// Truncated is set when the body hit the size limit.
	Truncated bool `json:"truncated,omitempty"`
}
