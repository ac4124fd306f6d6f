package redis_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch/storage"
	"github.com/lokerwatch/lokerwatch/storage/redis"
	"github.com/lokerwatch/lokerwatch/storage/redis/redistest"
)

// selfSigned writes a certificate for 127.0.0.1 and its key to dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "lokerwatch test redis"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	srv := redistest.Start(t, redistest.Config{TLSCert: certFile, TLSKey: keyFile})
	ctx := ctxT(t)

	s, err := redis.OpenURL(ctx, srv.URL(), redis.Options{TLSConfig: &tls.Config{RootCAs: pool}})
	if err != nil {
		t.Fatalf("open rediss:// trusting the test CA: %v", err)
	}
	defer s.Close()
	if n, err := s.Add(ctx, storage.Request{URL: "https://a.example/"}); err != nil || n != 1 {
		t.Fatalf("add over TLS: %d, %v", n, err)
	}

	if _, err := redis.OpenURL(ctx, srv.URL(), redis.Options{}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("open rediss:// with an untrusted certificate: %v, want a certificate error", err)
	}
	if _, err := redis.OpenURL(ctx, "redis://"+srv.Addr+"/0?dial_timeout=1s&read_timeout=1s", redis.Options{}); err == nil {
		t.Fatal("plain redis:// to a TLS port succeeded")
	}
	if _, err := redis.OpenURL(ctx, "redis://"+srv.Addr+"/0", redis.Options{TLSConfig: &tls.Config{RootCAs: pool}}); err == nil || !strings.Contains(err.Error(), "use rediss://") {
		t.Fatalf("TLS settings with redis://: %v, want advice to use rediss://", err)
	}
}
