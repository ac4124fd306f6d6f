// Package i18n owns the review console's languages: the message catalogs
// (en.toml, id.toml, read through go-i18n), the choice of a language for a
// request (a preference cookie, else Accept-Language) and T, which looks a
// message up.
//
// Messages are identified by keys ("nav.queue"), never by their English
// text, so that a fix to the English wording does not orphan the
// translation. Catalogs are TOML files embedded in the binary; docs/i18n.md
// says how to add a message and how translators work with them.
package i18n

import (
	"embed"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/BurntSushi/toml"
	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// Lang is a console language: a base language code.
type Lang string

const (
	English    Lang = "en"
	Indonesian Lang = "id"
)

// Default is the language when neither the cookie nor Accept-Language names
// one we have: the catalogs' source language.
const Default = English

// Langs are the console's languages, in the order the switcher shows them.
var Langs = []Lang{Indonesian, English}

// Name is a language's name in itself, for the switcher.
func (l Lang) Name() string {
	switch l {
	case Indonesian:
		return "Bahasa Indonesia"
	case English:
		return "English"
	}
	return string(l)
}

// Parse returns the language a cookie or form value names, and whether it
// is one of Langs. Only the exact codes are accepted: a cookie is client
// input and ends up in the page.
func Parse(s string) (Lang, bool) {
	for _, l := range Langs {
		if s == string(l) {
			return l, true
		}
	}
	return "", false
}

// The matcher's first tag is its fallback, so English comes first here.
var matcher = language.NewMatcher([]language.Tag{language.English, language.Indonesian})

// Match picks the language of a request: the preference (the cookie's
// value) when it is one of ours, else the best match of the Accept-Language
// header (id-ID, id and the old code "in" give Indonesian), else Default.
func Match(preference, acceptLanguage string) Lang {
	if l, ok := Parse(preference); ok {
		return l
	}
	if len(acceptLanguage) > 1024 { // bound the parse of a hostile header
		acceptLanguage = acceptLanguage[:1024]
		if i := strings.LastIndexByte(acceptLanguage, ','); i > 0 {
			acceptLanguage = acceptLanguage[:i]
		}
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return Default
	}
	_, i, conf := matcher.Match(tags...)
	if conf == language.No {
		return Default
	}
	return []Lang{English, Indonesian}[i]
}

//go:embed en.toml id.toml
var files embed.FS

// Catalog holds the messages of every language.
type Catalog struct {
	bundle *goi18n.Bundle
	loc    map[Lang]*goi18n.Localizer
	// plain caches messages without placeholders: most calls, and the
	// page templates make dozens per page.
	plain map[Lang]map[string]string
	msgs  map[Lang]map[string]*goi18n.Message
	ids   []string
}

var (
	loadOnce sync.Once
	loaded   *Catalog
	loadErr  error
)

// Load reads the embedded catalogs once. Its error names the file and the
// problem; the server refuses to start with a broken catalog.
func Load() (*Catalog, error) {
	loadOnce.Do(func() { loaded, loadErr = parse(files) })
	return loaded, loadErr
}

// parse reads the catalogs of Langs, named <lang>.toml, from fsys.
func parse(fsys interface {
	ReadFile(string) ([]byte, error)
}) (*Catalog, error) {
	b := goi18n.NewBundle(language.English)
	b.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	c := &Catalog{bundle: b, loc: map[Lang]*goi18n.Localizer{}, plain: map[Lang]map[string]string{}, msgs: map[Lang]map[string]*goi18n.Message{}}
	byLang := map[Lang][]*goi18n.Message{}
	for _, l := range Langs {
		name := string(l) + ".toml"
		data, err := fsys.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read console catalog %s: %w", name, err)
		}
		mf, err := b.ParseMessageFileBytes(data, name)
		if err != nil {
			return nil, fmt.Errorf("parse console catalog %s: %w", name, err)
		}
		byLang[l] = mf.Messages
		c.loc[l] = goi18n.NewLocalizer(b, string(l))
	}
	for _, m := range byLang[Default] {
		c.ids = append(c.ids, m.ID)
	}
	sort.Strings(c.ids)
	for l, msgs := range byLang {
		c.plain[l] = map[string]string{}
		c.msgs[l] = map[string]*goi18n.Message{}
		for _, m := range msgs {
			c.msgs[l][m.ID] = m
			if strings.Contains(m.Other, "{{") || m.One != "" {
				continue
			}
			c.plain[l][m.ID] = m.Other
		}
	}
	return c, nil
}

// KeyOf finds the key under prefix whose English text is text: for
// messages made in English by code shared with the JSON API (errors),
// which the console then shows in the reader's language.
func (c *Catalog) KeyOf(prefix, text string) (string, bool) {
	for _, id := range c.ids { // errors are rare: a scan is fine
		if strings.HasPrefix(id, prefix) && c.msgs[Default][id].Other == text {
			return id, true
		}
	}
	return "", false
}

// IDs lists the keys of the source (English) catalog.
func (c *Catalog) IDs() []string { return append([]string(nil), c.ids...) }

// Has reports whether lang's own catalog has key (no fallback).
func (c *Catalog) Has(lang Lang, key string) bool {
	_, ok := c.msgs[lang][key]
	return ok
}

// T returns the message key in lang. args are name/value pairs filling the
// message's placeholders ({{.Count}}); a "Count" also picks the plural form.
// A message missing in lang falls back to English; a key missing
// everywhere comes back as the key itself, visible on the page (the tests
// make sure no template or handler uses one).
func (c *Catalog) T(lang Lang, key string, args ...any) string {
	if len(args) == 0 {
		if s, ok := c.plain[lang][key]; ok {
			return s
		}
		if s, ok := c.plain[Default][key]; ok {
			return s
		}
	}
	loc := c.loc[lang]
	if loc == nil {
		loc = c.loc[Default]
	}
	data := map[string]any{}
	for i := 0; i+1 < len(args); i += 2 {
		name, ok := args[i].(string)
		if !ok {
			continue
		}
		data[name] = args[i+1]
	}
	cfg := &goi18n.LocalizeConfig{MessageID: key, TemplateData: data}
	if n, ok := data["Count"]; ok {
		cfg.PluralCount = n
	}
	s, err := loc.Localize(cfg)
	if s == "" && err != nil {
		return key
	}
	return s
}
