// Package evidence keeps what an investigator needs to prove what a page
// said: it captures the HTTP exchanges of pages that yielded flagged ads as
// WARC 1.1 records (Archiver), packs captures, decisions and the audit trail
// into signed WACZ 1.1.1 bundles or plain CSV / JSON lines (Export), checks
// bundles on any machine (Verify), makes signing keys (GenerateKeys) and
// applies the retention policy (Purge, Release).
//
// WARC records are written by a small writer in this package rather than
// by a WARC library: the bytes of every record are decided here (header
// order, digests, one gzip member per record), and the payload digest is
// always taken over the de-chunked body. Tests read the records back with
// two independent readers (github.com/nlnwa/gowarc/v3 and
// github.com/internetarchive/gowarc).
package evidence
