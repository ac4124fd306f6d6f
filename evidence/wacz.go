package evidence

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
	"unicode"
)

// WACZ 1.1.1 names.
const (
	waczVersion       = "1.1.1"
	signingVersion    = "0.1.0"
	datapackagePath   = "datapackage.json"
	digestPath        = "datapackage-digest.json"
	pagesPath         = "pages/pages.jsonl"
	indexPath         = "indexes/index.cdxj"
	pagesHeaderFormat = "json-pages-1.0"
)

// dataPackage is datapackage.json (WACZ 1.1.1, Frictionless data package).
type dataPackage struct {
	Profile      string     `json:"profile"`
	WACZVersion  string     `json:"wacz_version"`
	Title        string     `json:"title,omitempty"`
	Description  string     `json:"description,omitempty"`
	Created      string     `json:"created,omitempty"`
	Modified     string     `json:"modified,omitempty"`
	Software     string     `json:"software,omitempty"`
	MainPageURL  string     `json:"mainPageUrl,omitempty"`
	MainPageDate string     `json:"mainPageDate,omitempty"`
	Resources    []resource `json:"resources"`
}

type resource struct {
	Name  string `json:"name"`
	Path  string `json:"path"`
	Hash  string `json:"hash"`
	Bytes int64  `json:"bytes"`
}

// digestFile is datapackage-digest.json (WACZ Signing 0.1.0).
type digestFile struct {
	Path       string      `json:"path"`
	Hash       string      `json:"hash"`
	SignedData *signedData `json:"signedData,omitempty"`
}

// signedData is the anonymous signature form: exactly these properties.
type signedData struct {
	Hash      string `json:"hash"`
	Created   string `json:"created"`
	Software  string `json:"software"`
	Version   string `json:"version"`
	Signature string `json:"signature"`
	PublicKey string `json:"publicKey"`
}

// zipAdder writes entries into the bundle, hashing while writing.
type zipAdder struct {
	zw        *zip.Writer
	modified  time.Time
	resources []resource
}

func (z *zipAdder) add(name string, method uint16, src io.Reader, listed bool) (resource, error) {
	fw, err := z.zw.CreateHeader(&zip.FileHeader{Name: name, Method: method, Modified: z.modified})
	if err != nil {
		return resource{}, fmt.Errorf("zip %s: %w", name, err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(fw, h), src)
	if err != nil {
		return resource{}, fmt.Errorf("zip %s: %w", name, err)
	}
	res := resource{Path: name, Hash: hashLabel(h), Bytes: n}
	if listed {
		res.Name = z.resourceName(name)
		z.resources = append(z.resources, res)
	}
	return res, nil
}

// resourceName is a datapackage.json resource name for the file at p: its
// base name made to follow the Data Package rule (unique; lowercase
// alphanumerics, ".", "_", "-"), else its whole path so made, else that
// with a number. Verify goes by path, so bundles written before names
// followed the rule ("…-20261207T134703Z-….warc.gz") still verify.
func (z *zipAdder) resourceName(p string) string {
	taken := func(n string) bool {
		for _, r := range z.resources {
			if r.Name == n {
				return true
			}
		}
		return false
	}
	if n := dataPackageName(path.Base(p)); !taken(n) {
		return n
	}
	n := dataPackageName(p)
	for i := 2; taken(n); i++ {
		n = fmt.Sprintf("%s-%d", dataPackageName(p), i)
	}
	return n
}

// dataPackageName lowercases s and turns every character the Data Package
// name rule does not allow into "-".
func dataPackageName(s string) string {
	return strings.Map(func(r rune) rune {
		r = unicode.ToLower(r)
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '.' || r == '_' || r == '-' {
			return r
		}
		return '-'
	}, s)
}

// writeWACZ assembles the bundle from the spools.
func (x *exporter) writeWACZ(w io.Writer) error {
	zw := zip.NewWriter(w)
	z := &zipAdder{zw: zw, modified: x.now}
	type entry struct {
		name   string
		method uint16
		open   func() (io.Reader, error)
	}
	entries := []entry{
		// WARC files are stored, not deflated (WACZ 1.1.1): replay reads
		// records by byte range.
		{"archive/" + x.warcName, zip.Store, x.warc.reader},
		{indexPath, zip.Deflate, func() (io.Reader, error) {
			sorted, err := newSpool(x.tmp, "index.cdxj")
			if err != nil {
				return nil, err
			}
			x.closers = append(x.closers, sorted.f)
			if _, err := x.cdxj.WriteTo(sorted); err != nil {
				return nil, err
			}
			return sorted.reader()
		}},
		{pagesPath, zip.Deflate, x.pages.reader},
		{"case/ads.jsonl", zip.Deflate, x.adsJSONL.reader},
		{"case/ads.csv", zip.Deflate, x.adsCSV.reader},
		{"case/decisions.csv", zip.Deflate, x.decCSV.reader},
		{"case/audit.csv", zip.Deflate, x.audCSV.reader},
	}
	for _, e := range entries {
		r, err := e.open()
		if err != nil {
			return fmt.Errorf("%s: %w", e.name, err)
		}
		if _, err := z.add(e.name, e.method, r, true); err != nil {
			return err
		}
	}
	if err := x.addFiles(z); err != nil {
		return err
	}
	if x.opts.Key != nil {
		x.sum.Signed = true
		x.sum.KeyFingerprint = KeyFingerprint(&x.opts.Key.PublicKey)
	}
	info, err := json.MarshalIndent(x.info(), "", "  ")
	if err != nil {
		return err
	}
	if _, err := z.add("case/export.json", zip.Deflate, bytes.NewReader(info), true); err != nil {
		return err
	}

	created := x.now.Format(time.RFC3339)
	title := x.opts.Title
	if title == "" {
		title = "lokerwatch evidence export " + x.sum.ID
	}
	desc := x.opts.Description
	if desc == "" {
		desc = fmt.Sprintf("%d ads and %d page captures exported by %s from lokerwatch. See case/export.json for the query and case/ads.jsonl for assessments, decisions and the audit trail.", x.sum.Ads, x.sum.Captures, x.opts.Actor)
	}
	if x.opts.Key == nil {
		desc += " This bundle is UNSIGNED: its hashes show whether it was altered after export, but nothing proves who exported it."
	} else {
		desc += " Signed with the key " + x.sum.KeyFingerprint + "."
	}
	dp := dataPackage{
		Profile: "data-package", WACZVersion: waczVersion, Title: title, Description: desc,
		Created: created, Modified: created, Software: x.opts.Software,
		MainPageURL: x.mainPage, MainPageDate: x.mainDate, Resources: z.resources,
	}
	dpJSON, err := json.MarshalIndent(dp, "", "  ")
	if err != nil {
		return err
	}
	dpRes, err := z.add(datapackagePath, zip.Deflate, bytes.NewReader(dpJSON), false)
	if err != nil {
		return err
	}
	x.sum.DatapackageHash = dpRes.Hash
	df := digestFile{Path: datapackagePath, Hash: dpRes.Hash}
	if x.opts.Key != nil {
		sig, pub, err := signHash(x.opts.Key, dpRes.Hash)
		if err != nil {
			return fmt.Errorf("sign: %w", err)
		}
		df.SignedData = &signedData{Hash: dpRes.Hash, Created: created, Software: x.opts.Software, Version: signingVersion, Signature: sig, PublicKey: pub}
	}
	dfJSON, err := json.MarshalIndent(df, "", "  ")
	if err != nil {
		return err
	}
	if _, err := z.add(digestPath, zip.Deflate, bytes.NewReader(dfJSON), false); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("zip: %w", err)
	}
	return nil
}
