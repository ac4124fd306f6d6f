package evidence

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
)

// Curve names an ECDSA curve for signing keys.
type Curve string

const (
	// P384 is what ReplayWeb.page checks WACZ signatures with; the default.
	P384 Curve = "P-384"
	P256 Curve = "P-256"
)

func (c Curve) curve() (elliptic.Curve, error) {
	switch c {
	case P384, "", "p384", "P384", "p-384":
		return elliptic.P384(), nil
	case P256, "p256", "P256", "p-256":
		return elliptic.P256(), nil
	}
	return nil, fmt.Errorf("unknown curve %q (want P-256 or P-384)", string(c))
}

// GenerateKeys writes a new ECDSA key pair as PEM: the private key
// (PKCS #8, file mode 0600) to privPath and the public key (PKIX) to
// pubPath. It refuses to overwrite existing files.
func GenerateKeys(privPath, pubPath string, c Curve) error {
	curve, err := c.curve()
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		return fmt.Errorf("generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("encode private key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return fmt.Errorf("encode public key: %w", err)
	}
	if err := writeNewFile(privPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return err
	}
	if err := writeNewFile(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644); err != nil {
		os.Remove(privPath) // half a pair is useless; do not leave it behind
		return err
	}
	return nil
}

func writeNewFile(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("write key: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("write key %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write key %s: %w", path, err)
	}
	return f.Close()
}

// LoadPrivateKey reads an ECDSA private key (PEM, PKCS #8 or SEC 1).
func LoadPrivateKey(path string) (*ecdsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, fmt.Errorf("signing key %s: no PEM private key found", path)
		}
		switch b.Type {
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("signing key %s: %w", path, err)
			}
			ek, ok := k.(*ecdsa.PrivateKey)
			if !ok {
				return nil, fmt.Errorf("signing key %s: %T is not an ECDSA key", path, k)
			}
			return checkCurve(ek, path)
		case "EC PRIVATE KEY":
			ek, err := x509.ParseECPrivateKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("signing key %s: %w", path, err)
			}
			return checkCurve(ek, path)
		}
	}
}

func checkCurve(k *ecdsa.PrivateKey, path string) (*ecdsa.PrivateKey, error) {
	if k.Curve != elliptic.P256() && k.Curve != elliptic.P384() {
		return nil, fmt.Errorf("signing key %s: curve %s not supported (P-256 or P-384)", path, k.Curve.Params().Name)
	}
	return k, nil
}

// LoadPublicKey reads a public key (PEM "PUBLIC KEY"); a private key file
// is accepted too and its public half used.
func LoadPublicKey(path string) (*ecdsa.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, fmt.Errorf("public key %s: no PEM block found", path)
	}
	if b.Type != "PUBLIC KEY" {
		k, err := LoadPrivateKey(path)
		if err != nil {
			return nil, err
		}
		return &k.PublicKey, nil
	}
	k, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("public key %s: %w", path, err)
	}
	ek, ok := k.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key %s: %T is not an ECDSA key", path, k)
	}
	return ek, nil
}

// KeyFingerprint is "sha256:<hex>" of the key's SPKI (DER) encoding, to be
// compared by people over the phone or in a case file.
func KeyFingerprint(pub crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return ""
	}
	s := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(s[:])
}

// signHash signs the UTF-8 bytes of a "sha256:…" hash string as WACZ
// Signing 0.1.0 (anonymous form) and wabac.js expect: ECDSA with SHA-256,
// signature as raw r||s, base64.
func signHash(key *ecdsa.PrivateKey, hashString string) (signature, publicKey string, err error) {
	d := sha256.Sum256([]byte(hashString))
	r, s, err := ecdsa.Sign(rand.Reader, key, d[:])
	if err != nil {
		return "", "", err
	}
	size := (key.Curve.Params().BitSize + 7) / 8
	sig := make([]byte, 2*size)
	r.FillBytes(sig[:size])
	s.FillBytes(sig[size:])
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return "", "", err
	}
	return base64.StdEncoding.EncodeToString(sig), base64.StdEncoding.EncodeToString(spki), nil
}

// verifyHashSignature checks a signature made by signHash (r||s; an ASN.1
// DER signature is accepted too).
func verifyHashSignature(pub *ecdsa.PublicKey, hashString, signature string) error {
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return fmt.Errorf("signature is not base64: %w", err)
	}
	d := sha256.Sum256([]byte(hashString))
	size := (pub.Curve.Params().BitSize + 7) / 8
	if len(sig) == 2*size {
		r := new(big.Int).SetBytes(sig[:size])
		s := new(big.Int).SetBytes(sig[size:])
		if ecdsa.Verify(pub, d[:], r, s) {
			return nil
		}
		return errors.New("signature does not match")
	}
	if ecdsa.VerifyASN1(pub, d[:], sig) {
		return nil
	}
	return errors.New("signature does not match")
}

func parseSPKI(b64 string) (*ecdsa.PublicKey, error) {
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("publicKey is not base64: %w", err)
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("publicKey: %w", err)
	}
	ek, ok := k.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("publicKey is %T, not ECDSA", k)
	}
	return ek, nil
}
