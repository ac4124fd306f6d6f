package crawler

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Guard is the network guard: it resolves a host, refuses addresses the
// crawler must never reach (loopback, private, link-local, multicast,
// unspecified, reserved — in IPv4, IPv6 and the IPv6 forms that embed an
// IPv4 address) unless crawl.allow_private lists them, and connects to the
// vetted address itself, so a second DNS answer (rebinding) cannot change
// where the connection goes. Redirects dial through it like any fetch.
type Guard struct {
	allow    []allowEntry
	resolver interface {
		LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
	}
	dialer net.Dialer
}

// allowEntry is one crawl.allow_private entry: a CIDR (prefix), a host or
// IP (any port), or host:port.
type allowEntry struct {
	prefix netip.Prefix // valid for CIDRs and IP literals
	host   string       // lower-case name when the entry is a host name
	port   int          // 0 = any port
}

// NewGuard parses crawl.allow_private entries: "intranet.example" (that
// name, any port), "10.1.2.3" (that address), "127.0.0.1:8080" or
// "localhost:8080" (that port only), "10.0.0.0/8" (any address inside).
// A name is matched as asked for in the URL, before resolution; an IP or
// CIDR is matched against the resolved address.
func NewGuard(allow []string) (*Guard, error) {
	g := &Guard{resolver: net.DefaultResolver}
	g.dialer = net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second, ControlContext: g.control}
	for _, a := range allow {
		e, err := parseAllow(a)
		if err != nil {
			return nil, fmt.Errorf("crawl.allow_private: %w", err)
		}
		g.allow = append(g.allow, e)
	}
	return g, nil
}

func parseAllow(a string) (allowEntry, error) {
	a = strings.TrimSpace(a)
	if a == "" {
		return allowEntry{}, errors.New("empty entry")
	}
	if strings.Contains(a, "/") {
		p, err := netip.ParsePrefix(a)
		if err != nil {
			return allowEntry{}, fmt.Errorf("%q is not a CIDR: %w", a, err)
		}
		return allowEntry{prefix: p.Masked()}, nil
	}
	host, port := a, 0
	if h, p, err := net.SplitHostPort(a); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 || h == "" {
			return allowEntry{}, fmt.Errorf("%q has a bad host or port", a)
		}
		host, port = h, n
	}
	host = strings.TrimSuffix(strings.Trim(strings.ToLower(host), "[]"), ".")
	if ip, err := netip.ParseAddr(host); err == nil {
		ip = ip.Unmap().WithZone("")
		return allowEntry{prefix: netip.PrefixFrom(ip, ip.BitLen()), port: port}, nil
	}
	if host == "" || strings.ContainsAny(host, " \t:@?#/") {
		return allowEntry{}, fmt.Errorf("%q is not a host, host:port or CIDR", a)
	}
	return allowEntry{host: host, port: port}, nil
}

// allowed tells whether an entry lets host (as asked for) reach ip:port.
func (g *Guard) allowed(host string, ip netip.Addr, port int) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	for _, e := range g.allow {
		if e.port != 0 && e.port != port {
			continue
		}
		if e.host != "" {
			if e.host == host {
				return true
			}
			continue
		}
		if e.prefix.Contains(ip) || e.prefix.Contains(ip.Unmap()) {
			return true
		}
	}
	return false
}

// DialContext resolves addr ("host:port"), keeps the addresses the guard
// allows and connects to the first that answers. When none is allowed it
// returns an error wrapping ErrRefused that names the address and the rule.
func (g *Guard) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		return nil, fmt.Errorf("%w: %s: bad port", ErrRefused, addr)
	}
	ips, err := g.resolve(ctx, network, host)
	if err != nil {
		return nil, err
	}
	var ok []netip.Addr
	var refusal error
	for _, ip := range ips {
		if err := g.Check(host, ip, port); err != nil {
			if refusal == nil {
				refusal = err
			}
			continue
		}
		ok = append(ok, ip.Unmap())
	}
	if len(ok) == 0 {
		if refusal == nil {
			refusal = fmt.Errorf("%w: %s resolves to no address", ErrRefused, host)
		}
		return nil, refusal
	}
	var errs []error
	for _, ip := range ok {
		// The vetted address itself: no second lookup between check and connect.
		ap := netip.AddrPortFrom(ip, uint16(port))
		c, err := g.dialer.DialContext(context.WithValue(ctx, vettedKey{}, ap), dialNetwork(network, ip), ap.String())
		if err == nil {
			return c, nil
		}
		if errors.Is(err, ErrRefused) || ctx.Err() != nil {
			return nil, err
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

func dialNetwork(network string, ip netip.Addr) string {
	if !strings.HasPrefix(network, "tcp") {
		return network
	}
	if ip.Is4() {
		return "tcp4"
	}
	return "tcp6"
}

func (g *Guard) resolve(ctx context.Context, network, host string) ([]netip.Addr, error) {
	h := strings.Trim(host, "[]")
	if ip, err := netip.ParseAddr(h); err == nil {
		return []netip.Addr{ip.WithZone("")}, nil
	}
	nw := "ip"
	switch network {
	case "tcp4", "udp4":
		nw = "ip4"
	case "tcp6", "udp6":
		nw = "ip6"
	}
	ips, err := g.resolver.LookupNetIP(ctx, nw, h)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", host, err)
	}
	for i, ip := range ips {
		// The resolver may hand an A record over in its IPv4-mapped form;
		// judged the same, it reads better in a refusal.
		ips[i] = ip.Unmap().WithZone("")
	}
	return ips, nil
}

// Check returns nil when host (as asked for) may connect to ip:port, and
// otherwise an error wrapping ErrRefused that names the address and the
// rule it falls under.
func (g *Guard) Check(host string, ip netip.Addr, port int) error {
	ip = ip.WithZone("")
	rule, bad := classify(ip)
	if !bad || g.allowed(host, ip, port) {
		return nil
	}
	ap := netip.AddrPortFrom(ip, uint16(port)).String()
	if h := strings.Trim(host, "[]"); h != ip.String() && h != "" {
		return fmt.Errorf("%w: %s resolves to %s, which is %s; list it in crawl.allow_private to crawl it", ErrRefused, host, ap, rule)
	}
	return fmt.Errorf("%w: %s is %s; list it in crawl.allow_private to crawl it", ErrRefused, ap, rule)
}

// vettedKey carries the address DialContext vetted to the socket check.
type vettedKey struct{}

// control runs on the socket just before connect: a last check on the
// address actually dialled. The address DialContext vetted (possibly
// allowed by host name, which is not known here) passes; anything else is
// judged by address alone.
func (g *Guard) control(ctx context.Context, network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot read dialled address %q", ErrRefused, address)
	}
	ap = netip.AddrPortFrom(ap.Addr().WithZone(""), ap.Port())
	if v, ok := ctx.Value(vettedKey{}).(netip.AddrPort); ok && v == ap {
		return nil
	}
	return g.Check(ap.Addr().String(), ap.Addr(), int(ap.Port()))
}

// special is one address range the guard refuses, with the name the
// refusal reason gives it.
type special struct {
	prefix netip.Prefix
	rule   string
}

func rules(rs ...string) []special {
	out := make([]special, 0, len(rs)/2)
	for i := 0; i < len(rs); i += 2 {
		out = append(out, special{netip.MustParsePrefix(rs[i]), rs[i+1] + " (" + rs[i] + ")"})
	}
	return out
}

// Ranges from the IANA IPv4 and IPv6 special-purpose address registries
// that are not reachable public internet.
var (
	v4Special = rules(
		"0.0.0.0/8", "unspecified/this network",
		"10.0.0.0/8", "private",
		"100.64.0.0/10", "carrier-grade NAT",
		"127.0.0.0/8", "loopback",
		"169.254.0.0/16", "link-local",
		"172.16.0.0/12", "private",
		"192.0.0.0/24", "IETF protocol assignments",
		"192.0.2.0/24", "documentation",
		"192.88.99.0/24", "6to4 relay anycast",
		"192.168.0.0/16", "private",
		"198.18.0.0/15", "benchmarking",
		"198.51.100.0/24", "documentation",
		"203.0.113.0/24", "documentation",
		"224.0.0.0/4", "multicast",
		"255.255.255.255/32", "broadcast",
		"240.0.0.0/4", "reserved",
	)
	v6Special = rules(
		"::/128", "unspecified",
		"::1/128", "loopback",
		"100::/64", "discard-only",
		"2001:db8::/32", "documentation",
		"3fff::/20", "documentation",
		"2001:2::/48", "benchmarking",
		"2001:10::/28", "ORCHID",
		"2001:20::/28", "ORCHIDv2",
		"5f00::/16", "segment routing",
		"fc00::/7", "unique local (private)",
		"fe80::/10", "link-local",
		"fec0::/10", "site-local",
		"ff00::/8", "multicast",
		"64:ff9b:1::/48", "local-use NAT64",
	)
	mapped4   = netip.MustParsePrefix("::ffff:0:0/96")
	compat4   = netip.MustParsePrefix("::/96")
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
	teredo    = netip.MustParsePrefix("2001::/32")
)

// classify names the special range ip is in; bad is false for public
// addresses. IPv6 forms that carry an IPv4 address (mapped, compatible,
// NAT64, 6to4, Teredo) are judged by the IPv4 address they carry.
func classify(ip netip.Addr) (rule string, bad bool) {
	if !ip.IsValid() {
		return "not an address", true
	}
	if ip.Is4() {
		for _, s := range v4Special {
			if s.prefix.Contains(ip) {
				return s.rule, true
			}
		}
		return "", false
	}
	for _, s := range v6Special {
		if s.prefix.Contains(ip) {
			return s.rule, true
		}
	}
	b := ip.As16()
	var inner netip.Addr
	var form string
	switch {
	case mapped4.Contains(ip):
		inner, form = netip.AddrFrom4([4]byte(b[12:16])), "IPv4-mapped"
	case compat4.Contains(ip):
		inner, form = netip.AddrFrom4([4]byte(b[12:16])), "IPv4-compatible"
	case nat64.Contains(ip):
		inner, form = netip.AddrFrom4([4]byte(b[12:16])), "NAT64"
	case sixToFour.Contains(ip):
		inner, form = netip.AddrFrom4([4]byte(b[2:6])), "6to4"
	case teredo.Contains(ip):
		// The client address is stored inverted in the last 32 bits.
		inner, form = netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]}), "Teredo"
	default:
		return "", false
	}
	if r, bad := classify(inner); bad {
		return form + " " + inner.String() + ", " + r, true
	}
	return "", false
}
