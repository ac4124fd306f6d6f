// Package redistest starts a real redis-server for tests: on a free
// loopback port (never 6379), with its data in a temporary directory,
// stopped when the test ends. Tests skip, with how to install it, when
// redis-server is not on PATH.
package redistest

import (
	"context"

	"bufio"
	"crypto/tls"
	"fmt"
	"github.com/lokerwatch/lokerwatch/storage/redis"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Config chooses how the server runs.
type Config struct {
	// AOF turns on appendonly with appendfsync always, so a server killed
	// and restarted keeps every acknowledged write.
	AOF bool
	// TLSCert and TLSKey (PEM files) make the server speak TLS only, on
	// Port; clients are not asked for certificates.
	TLSCert, TLSKey string
	// Args are extra redis-server arguments, e.g. "--maxmemory", "1gb".
	Args []string
}

// Server is a running (or stopped) redis-server owned by one test.
type Server struct {
	Addr string // 127.0.0.1:PORT
	Port int

	t    testing.TB
	dir  string
	cfg  Config
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Start starts a redis-server for t and stops it when t ends.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not found on PATH; install it (Debian/Ubuntu: apt-get install redis-server) to run the Redis store tests")
	}
	s := &Server{t: t, dir: t.TempDir(), cfg: cfg}
	s.Port = freePort(t)
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port))
	t.Cleanup(func() { s.Stop() })
	if err := s.start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	return s
}

// URL is the store URL of the server, database 0 (rediss:// with TLS).
func (s *Server) URL() string {
	if s.cfg.TLSCert != "" {
		return "rediss://" + s.Addr + "/0"
	}
	return "redis://" + s.Addr + "/0"
}

// freePort asks the kernel for a free loopback port.
func freePort(t testing.TB) int {
	for i := 0; i < 20; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("find a free port: %v", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if port != 6379 {
			return port
		}
	}
	t.Fatal("find a free port: kernel keeps offering 6379")
	return 0
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return fmt.Errorf("already running")
	}
	aof := "no"
	if s.cfg.AOF {
		aof = "yes"
	}
	port := []string{"--port", strconv.Itoa(s.Port)}
	if s.cfg.TLSCert != "" {
		port = []string{"--port", "0", "--tls-port", strconv.Itoa(s.Port), "--tls-cert-file", s.cfg.TLSCert,
			"--tls-key-file", s.cfg.TLSKey, "--tls-auth-clients", "no"}
	}
	args := append(port,
		"--bind", "127.0.0.1", "--save", "",
		"--appendonly", aof, "--appendfsync", "always", "--dir", s.dir,
		"--daemonize", "no", "--protected-mode", "yes", "--loglevel", "warning",
		"--logfile", filepath.Join(s.dir, "redis.log"))
	args = append(args, s.cfg.Args...)
	cmd := exec.Command("redis-server", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd = cmd
	s.done = make(chan struct{})
	done := s.done
	go func() { _ = cmd.Wait(); close(done) }()
	return s.waitReady(done)
}

// waitReady waits until the server answers PING (or exits, or 10s pass).
func (s *Server) waitReady(exited chan struct{}) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("redis-server exited at start; log:\n%s", s.log())
		default:
		}
		if ping(s.Addr, s.cfg.TLSCert != "") == nil {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("redis-server on %s did not answer PING within 10s; log:\n%s", s.Addr, s.log())
}

func ping(addr string, useTLS bool) error {
	var c net.Conn
	var err error
	d := &net.Dialer{Timeout: 200 * time.Millisecond}
	if useTLS {
		// Only checks the server is up; tests verify certificates themselves.
		c, err = tls.DialWithDialer(d, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
	} else {
		c, err = d.Dial("tcp", addr)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	// A server with requirepass answers NOAUTH: it is up all the same.
	if !strings.HasPrefix(line, "+PONG") && !strings.HasPrefix(line, "-NOAUTH") {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

func (s *Server) log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	return string(b)
}

// Stop shuts the server down gracefully (SIGTERM: it flushes the AOF).
// Stopping a stopped server does nothing.
func (s *Server) Stop() { s.signal(syscall.SIGTERM) }

// Kill stops the server at once (SIGKILL), as a crash would.
func (s *Server) Kill() { s.signal(syscall.SIGKILL) }

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// Restart starts the stopped server again on the same port and directory
// (with AOF on, the data comes back).
func (s *Server) Restart() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatalf("restart redis-server: %v", err)
	}
}

// OpenStore starts a redis-server for t and opens a lokerwatch store on
// it with default options; both end with t.
func OpenStore(t testing.TB) *redis.Store {
	t.Helper()
	srv := Start(t, Config{})
	st, err := redis.OpenURL(context.Background(), srv.URL(), redis.Options{})
	if err != nil {
		t.Fatalf("open redis store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
