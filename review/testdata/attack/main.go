// Command attack replays the hostile-login measurements of issue 20
// against a running `lokerwatch serve` (loopback only; every run sends a
// bounded number of requests). See review/README.md, "Under attack".
//
//	go run ./review/testdata/attack -base http://127.0.0.1:8089 -mode flood -n 2000 -threads 4
//	go run ./review/testdata/attack -base ... -mode burst -n 150 [-same]
//	go run ./review/testdata/attack -base ... -mode audit -token lwt_...
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"
)

var tokenRE = regexp.MustCompile(`name="login_token" value="([^"]+)"`)

func main() {
	base := flag.String("base", "http://127.0.0.1:8089", "the review desk (loopback)")
	mode := flag.String("mode", "flood", "flood (long names, wrong passwords), burst (n logins at once) or audit (GET /api/audit)")
	n := flag.Int("n", 2000, "requests (at most 5000)")
	threads := flag.Int("threads", 4, "concurrent senders for flood")
	same := flag.Bool("same", false, "burst: one user name for all (else one name each)")
	nameLen := flag.Int("name", 60<<10, "flood: bytes of user name")
	token := flag.String("token", "", "audit: an investigator's API token")
	show := flag.Bool("show", false, "audit: print the login events and sum up the attempts they account for")
	flag.Parse()
	u, err := url.Parse(*base)
	if err != nil || (u.Hostname() != "127.0.0.1" && u.Hostname() != "localhost" && u.Hostname() != "::1") {
		log.Fatalf("-base must be a loopback URL, got %q", *base)
	}
	if *n < 1 || *n > 5000 {
		log.Fatal("-n must be 1..5000")
	}
	hc := &http.Client{Timeout: time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	switch *mode {
	case "audit":
		req, _ := http.NewRequest("GET", *base+"/api/audit?days=3650", nil)
		req.Header.Set("Authorization", "Bearer "+*token)
		start := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("GET /api/audit?days=3650: %d, %d bytes in %v\n", resp.StatusCode, len(b), time.Since(start).Round(time.Millisecond))
		if *show {
			var out struct {
				Events []struct{ Action, Actor, Detail string }
			}
			if err := json.Unmarshal(b, &out); err != nil {
				log.Fatal(err)
			}
			own, summed := 0, 0
			for _, ev := range out.Events {
				switch ev.Action {
				case "user.login":
					if strings.HasPrefix(ev.Detail, "failed") {
						own++
					}
				case "user.login.failures":
					var k int
					fmt.Sscanf(ev.Detail, "%d more", &k)
					summed += k
					fmt.Printf("  summary: %.200s\n", ev.Detail)
				}
			}
			fmt.Printf("failed logins in the audit log: %d events of their own + %d in summaries = %d\n", own, summed, own+summed)
		}
		return
	case "flood", "burst":
	default:
		log.Fatalf("unknown -mode %q", *mode)
	}
	resp, err := hc.Get(*base + "/login")
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := tokenRE.FindSubmatch(body)
	if m == nil {
		log.Fatal("no login token in the form")
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if strings.HasSuffix(c.Name, "lw_login") {
			cookie = c
		}
	}
	if cookie == nil {
		log.Fatal("no login cookie")
	}
	post := func(name string) int {
		form := url.Values{"login_token": {string(m[1])}, "name": {name}, "password": {"not the password"}}
		req, _ := http.NewRequest("POST", *base+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
		resp, err := hc.Do(req)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 0
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	var mu sync.Mutex
	codes := map[int]int{}
	count := func(c int) { mu.Lock(); codes[c]++; mu.Unlock() }
	start := time.Now()
	var wg sync.WaitGroup
	switch *mode {
	case "flood":
		jobs := make(chan int)
		for range *threads {
			wg.Go(func() {
				for i := range jobs {
					count(post(fmt.Sprintf("%06d", i) + strings.Repeat("x", *nameLen)))
				}
			})
		}
		for i := range *n {
			jobs <- i
		}
		close(jobs)
	case "burst":
		gate := make(chan struct{})
		for i := range *n {
			wg.Go(func() {
				name := fmt.Sprintf("guess%d", i)
				if *same {
					name = "admin"
				}
				<-gate
				count(post(name))
			})
		}
		close(gate)
	}
	wg.Wait()
	fmt.Printf("%s: %d requests in %v; answers %v (401 = refused as wrong, 429 = throttled, 503 = busy, try later)\n",
		*mode, *n, time.Since(start).Round(time.Millisecond), codes)
}
