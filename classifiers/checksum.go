package classifiers

import (
	"crypto/sha256"
	"encoding/hex"
	"math/big"
	"strings"

	"golang.org/x/crypto/sha3"
)

// Checksums of crypto addresses: an address that does not check out is a
// typo or a look-alike, and linking ads through it would be wrong.

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

var base58Index = func() [256]int8 {
	var t [256]int8
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(base58Alphabet); i++ {
		t[base58Alphabet[i]] = int8(i)
	}
	return t
}()

// base58CheckDecode returns the payload (version byte first) of a
// base58check string, or nil when a character is not base58 or the
// 4-byte double-SHA-256 checksum does not match.
func base58CheckDecode(s string) []byte {
	if s == "" || len(s) > 64 {
		return nil
	}
	n := new(big.Int)
	b58 := big.NewInt(58)
	for i := 0; i < len(s); i++ {
		d := base58Index[s[i]]
		if d < 0 {
			return nil
		}
		n.Mul(n, b58)
		n.Add(n, big.NewInt(int64(d)))
	}
	raw := n.Bytes()
	zeros := 0
	for zeros < len(s) && s[zeros] == '1' {
		zeros++
	}
	full := make([]byte, zeros+len(raw))
	copy(full[zeros:], raw)
	if len(full) < 5 {
		return nil
	}
	payload, sum := full[:len(full)-4], full[len(full)-4:]
	h1 := sha256.Sum256(payload)
	h2 := sha256.Sum256(h1[:])
	if string(h2[:4]) != string(sum) {
		return nil
	}
	return payload
}

// validTron reports whether s is a TRON address (TRC20 USDT lives there):
// base58check of 0x41 followed by 20 bytes, 34 characters starting "T".
func validTron(s string) bool {
	if len(s) != 34 || s[0] != 'T' {
		return false
	}
	p := base58CheckDecode(s)
	return len(p) == 21 && p[0] == 0x41
}

// validBTCLegacy reports whether s is a P2PKH ("1…") or P2SH ("3…")
// Bitcoin address with a good checksum.
func validBTCLegacy(s string) bool {
	if len(s) < 26 || len(s) > 35 || s[0] != '1' && s[0] != '3' {
		return false
	}
	p := base58CheckDecode(s)
	return len(p) == 21 && (p[0] == 0x00 || p[0] == 0x05)
}

const bech32Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

func bech32Polymod(values []byte) uint32 {
	gen := [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
	chk := uint32(1)
	for _, v := range values {
		top := chk >> 25
		chk = (chk&0x1ffffff)<<5 ^ uint32(v)
		for i := 0; i < 5; i++ {
			if (top>>i)&1 == 1 {
				chk ^= gen[i]
			}
		}
	}
	return chk
}

// validBech32BTC reports whether s is a segwit address on Bitcoin mainnet
// ("bc1…"): bech32 checksum for witness version 0 (BIP 173), bech32m for
// versions 1 to 16 (BIP 350), program length as the BIPs require. Mixed
// case is invalid by BIP 173.
func validBech32BTC(s string) bool {
	if len(s) < 14 || len(s) > 90 {
		return false
	}
	if strings.ToLower(s) != s && strings.ToUpper(s) != s {
		return false
	}
	s = strings.ToLower(s)
	if !strings.HasPrefix(s, "bc1") {
		return false
	}
	data := make([]byte, 0, len(s)-3)
	for i := 3; i < len(s); i++ {
		k := strings.IndexByte(bech32Charset, s[i])
		if k < 0 {
			return false
		}
		data = append(data, byte(k))
	}
	if len(data) < 7 {
		return false
	}
	values := []byte{3, 3, 0, 2, 3} // hrp "bc" expanded
	values = append(values, data...)
	pm := bech32Polymod(values)
	ver := data[0]
	switch {
	case ver == 0 && pm != 1:
		return false
	case ver > 0 && ver <= 16 && pm != 0x2bc830a3:
		return false
	case ver > 16:
		return false
	}
	// 5-bit groups to bytes: the witness program.
	prog := data[1 : len(data)-6]
	acc, bitsN, n := 0, 0, 0
	for _, v := range prog {
		acc = acc<<5 | int(v)
		bitsN += 5
		for bitsN >= 8 {
			bitsN -= 8
			n++
		}
	}
	if bitsN >= 5 || acc&((1<<bitsN)-1) != 0 {
		return false // padding must be short and zero
	}
	if n < 2 || n > 40 || ver == 0 && n != 20 && n != 32 {
		return false
	}
	return true
}

// validEthereum reports whether s ("0x" + 40 hex digits) is a well-formed
// Ethereum (ERC20) address: all lower or all upper case carries no
// checksum; mixed case must be the EIP-55 checksum.
func validEthereum(s string) bool {
	if len(s) != 42 || s[0] != '0' || s[1] != 'x' && s[1] != 'X' {
		return false
	}
	h := s[2:]
	if _, err := hex.DecodeString(h); err != nil {
		return false
	}
	lower, upper := strings.ToLower(h), strings.ToUpper(h)
	if h == lower || h == upper {
		return true
	}
	k := sha3.NewLegacyKeccak256()
	k.Write([]byte(lower))
	sum := k.Sum(nil)
	for i := 0; i < 40; i++ {
		c := h[i]
		if c >= '0' && c <= '9' {
			continue
		}
		nib := sum[i/2]
		if i%2 == 0 {
			nib >>= 4
		}
		nib &= 0xf
		if (nib >= 8) != (c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
