package crawler

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestGuardClassify(t *testing.T) {
	for _, tt := range []struct {
		addr string
		rule string // "" = public, allowed
	}{
		{"93.184.215.14", ""},
		{"8.8.8.8", ""},
		{"2606:4700:4700::1111", ""},
		{"127.0.0.1", "loopback"},
		{"127.255.255.254", "loopback"},
		{"::1", "loopback"},
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "this network"},
		{"::", "unspecified"},
		{"10.0.0.1", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"172.32.0.1", ""},
		{"192.168.1.1", "private"},
		{"100.64.0.1", "carrier-grade NAT"},
		{"100.127.255.255", "carrier-grade NAT"},
		{"100.128.0.1", ""},
		{"169.254.169.254", "link-local"}, // cloud metadata
		{"fe80::1", "link-local"},
		{"fd00::1", "unique local"},
		{"fc00::1", "unique local"},
		{"fd00:ec2::254", "unique local"}, // AWS metadata over IPv6
		{"fec0::1", "site-local"},
		{"224.0.0.1", "multicast"},
		{"239.255.255.250", "multicast"},
		{"ff02::1", "multicast"},
		{"255.255.255.255", "broadcast"},
		{"240.0.0.1", "reserved"},
		{"192.0.2.1", "documentation"},
		{"198.51.100.7", "documentation"},
		{"203.0.113.9", "documentation"},
		{"2001:db8::1", "documentation"},
		{"198.18.0.1", "benchmarking"},
		{"192.0.0.8", "IETF"},
		{"100::1", "discard-only"},
		// IPv6 forms that carry an IPv4 address are judged by it.
		{"::ffff:127.0.0.1", "IPv4-mapped 127.0.0.1, loopback"},
		{"::ffff:7f00:1", "IPv4-mapped 127.0.0.1, loopback"},
		{"::ffff:169.254.169.254", "link-local"},
		{"::ffff:10.1.2.3", "private"},
		{"::ffff:0.0.0.0", "unspecified"},
		{"::ffff:8.8.8.8", ""},
		{"::127.0.0.1", "IPv4-compatible 127.0.0.1, loopback"},
		{"::10.0.0.1", "IPv4-compatible"},
		{"::8.8.8.8", ""},
		{"64:ff9b::7f00:1", "NAT64 127.0.0.1"},
		{"64:ff9b::808:808", ""},
		{"64:ff9b:1::1", "local-use NAT64"},
		{"2002:7f00:1::", "6to4 127.0.0.1"},
		{"2002:c0a8:101::1", "6to4 192.168.1.1"},
		{"2002:808:808::1", ""},
		{"2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo 127.0.0.1"},
	} {
		ip := netip.MustParseAddr(tt.addr)
		rule, bad := classify(ip)
		if bad != (tt.rule != "") || !strings.Contains(rule, tt.rule) {
			t.Errorf("%s: rule %q refused %v; want %q", tt.addr, rule, bad, tt.rule)
		}
		// A zone never makes an address acceptable.
		if ip.Is6() && !ip.Is4In6() {
			if _, zbad := classify(ip.WithZone("eth0").WithZone("")); zbad != bad {
				t.Errorf("%s with a zone judged differently", tt.addr)
			}
		}
	}
}

func TestGuardAllowPrivate(t *testing.T) {
	g, err := NewGuard([]string{"10.0.0.0/8", "127.0.0.1:8080", "intranet.example", "LocalHost:9000", "fd00::/8", "192.168.1.5", "[::1]:8443"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		host string
		ip   string
		port int
		ok   bool
	}{
		{"10.9.9.9", "10.9.9.9", 80, true},            // CIDR, any port
		{"jobs.corp", "10.9.9.9", 443, true},          // CIDR matches the resolved address
		{"127.0.0.1", "127.0.0.1", 8080, true},        // host:port
		{"127.0.0.1", "127.0.0.1", 8081, false},       // another port
		{"127.0.0.1", "::ffff:127.0.0.1", 8080, true}, // the same address, mapped
		{"127.0.0.2", "127.0.0.2", 8080, false},       // another loopback address
		{"intranet.example", "192.168.7.7", 80, true}, // name, any port
		{"INTRANET.example.", "10.1.1.1", 80, true},
		{"evil.example", "192.168.7.7", 80, false},
		{"localhost", "127.0.0.1", 9000, true}, // name:port
		{"localhost", "127.0.0.1", 9001, false},
		{"192.168.1.5", "192.168.1.5", 1, true},
		{"rebound.example", "192.168.1.5", 1, true}, // an IP entry is the address, whatever the name
		{"x", "fd12::1", 80, true},
		{"x", "fe80::1", 80, false},
		{"::1", "::1", 8443, true},
		{"::1", "::1", 443, false},
		{"8.8.8.8", "8.8.8.8", 53, true}, // public: needs no entry
	} {
		err := g.Check(tt.host, netip.MustParseAddr(tt.ip), tt.port)
		if (err == nil) != tt.ok {
			t.Errorf("%s -> %s:%d: err %v, want allowed %v", tt.host, tt.ip, tt.port, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrRefused) {
			t.Errorf("%s: refusal %v does not wrap ErrRefused", tt.host, err)
		}
	}
	for _, bad := range []string{"", "10.0.0.0/33", "host:0", "host:x", "a b", ":80"} {
		if _, err := NewGuard([]string{bad}); err == nil {
			t.Errorf("allow_private %q accepted", bad)
		}
	}
}

// countingListener accepts on loopback and counts connections.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func listen(t *testing.T, addr string) *countingListener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	cl := &countingListener{Listener: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			cl.n.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return cl
}

func (l *countingListener) port() int { return l.Addr().(*net.TCPAddr).Port }

// stubResolver answers lookups from a table, one answer per call in turn.
type stubResolver struct {
	mu      sync.Mutex
	answers map[string][][]netip.Addr
	calls   int
}

func (r *stubResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	as := r.answers[host]
	if len(as) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	a := as[0]
	if len(as) > 1 {
		r.answers[host] = as[1:]
	}
	return a, nil
}

func TestGuardDial(t *testing.T) {
	ln := listen(t, "127.0.0.1:0")
	port := strconv.Itoa(ln.port())
	ctx := context.Background()
	dial := func(allow []string, addr string, res *stubResolver) error {
		g, err := NewGuard(allow)
		if err != nil {
			t.Fatal(err)
		}
		if res != nil {
			g.resolver = res
		}
		c, err := g.DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
		}
		return err
	}
	for _, tt := range []struct {
		name   string
		allow  []string
		addr   string
		res    *stubResolver
		reason string // "" = connects
	}{
		{"loopback refused", nil, "127.0.0.1:" + port, nil, "127.0.0.1:" + port + " is loopback"},
		{"allowed by host:port", []string{"127.0.0.1:" + port}, "127.0.0.1:" + port, nil, ""},
		{"allowed by CIDR", []string{"127.0.0.0/8"}, "127.0.0.1:" + port, nil, ""},
		{"another port", []string{"127.0.0.1:1"}, "127.0.0.1:" + port, nil, "loopback"},
		{"bracketed v6 unspecified", nil, "[::]:" + port, nil, "[::]:" + port + " is unspecified"},
		{"mapped loopback", nil, "[::ffff:127.0.0.1]:" + port, nil, "IPv4-mapped 127.0.0.1, loopback"},
		{"0.0.0.0", nil, "0.0.0.0:" + port, nil, "unspecified"},
		{"metadata", nil, "169.254.169.254:80", nil, "link-local"},
		{"name to loopback", nil, "localhost:" + port, nil, "localhost resolves to"},
		{"name allowed", []string{"localhost"}, "localhost:" + port, nil, ""},
		{"private name", nil, "intranet.example:" + port,
			&stubResolver{answers: map[string][][]netip.Addr{"intranet.example": {{netip.MustParseAddr("10.1.2.3")}}}},
			"intranet.example resolves to 10.1.2.3:" + port + ", which is private"},
		{"every answer private", nil, "mixed.example:" + port,
			&stubResolver{answers: map[string][][]netip.Addr{"mixed.example": {{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("fd00::1")}}}},
			"loopback"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := ln.n.Load()
			err := dial(tt.allow, tt.addr, tt.res)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				// Wait until the listener has counted this connection, so a
				// late accept is not blamed on a later refused dial.
				for deadline := time.Now().Add(5 * time.Second); ln.n.Load() == before; {
					if time.Now().After(deadline) {
						t.Fatal("an allowed dial never reached the listener")
					}
					time.Sleep(time.Millisecond)
				}
				return
			}
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("err = %v, want a refusal with %q", err, tt.reason)
			}
			if ln.n.Load() != before {
				t.Errorf("a refused dial reached the listener")
			}
		})
	}
}

// TestGuardRebinding: the name is resolved once and the connection goes to
// the address that was vetted, not to a second answer.
func TestGuardRebinding(t *testing.T) {
	good := listen(t, "127.0.0.1:0")
	res := &stubResolver{answers: map[string][][]netip.Addr{"rebind.example": {
		{netip.MustParseAddr("127.0.0.1")}, // vetted (allowed below)
		{netip.MustParseAddr("10.0.0.1")},  // what a second lookup would say
	}}}
	g, err := NewGuard([]string{"127.0.0.1/32"})
	if err != nil {
		t.Fatal(err)
	}
	g.resolver = res
	c, err := g.DialContext(context.Background(), "tcp", "rebind.example:"+strconv.Itoa(good.port()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.RemoteAddr().(*net.TCPAddr).IP.String(); got != "127.0.0.1" || res.calls != 1 {
		t.Errorf("connected to %s after %d lookups; want the vetted 127.0.0.1 after one", got, res.calls)
	}
}

// TestGuardSocketCheck: the dialer refuses at the socket an address it was
// not handed by DialContext.
func TestGuardSocketCheck(t *testing.T) {
	ln := listen(t, "127.0.0.1:0")
	g, err := NewGuard(nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = g.dialer.DialContext(context.Background(), "tcp", ln.Addr().String())
	if !errors.Is(err, ErrRefused) {
		t.Errorf("raw dial to loopback: %v, want ErrRefused", err)
	}
}
