package review

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ParseTrustedProxies reads review.trusted_proxies: IP addresses or CIDRs.
func ParseTrustedProxies(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for i, s := range list {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("review.trusted_proxies[%d]: %q is neither an IP address nor a CIDR", i, s)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

type clientAddrKey struct{}

func trusted(proxies []netip.Prefix, a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientAddr is the address of the client of r: the TCP peer, unless the
// peer is a trusted proxy; then X-Forwarded-For is read from the right,
// skipping trusted proxies, and the first other address is the client. A
// client can prepend anything to the header, so only what trusted proxies
// appended is believed.
func clientAddr(r *http.Request, proxies []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || len(proxies) == 0 || !trusted(proxies, peer) {
		return host
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(h, ",")...)
	}
	client := peer.Unmap()
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // garbage: the last trusted hop is all we know
		}
		client = a.Unmap()
		if !trusted(proxies, client) {
			break
		}
	}
	return client.String()
}

// clientAddress puts the client address of each request in its context,
// where remoteAddr finds it (audit events, throttling, decisions).
func (s *Server) clientAddress(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientAddrKey{}, clientAddr(r, s.proxies))))
	})
}
