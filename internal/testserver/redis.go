package testserver

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// RedisOptions configures a redis-server. The zero value (or nil) is a
// standalone server without persistence.
type RedisOptions struct {
	// AppendOnly turns on appendonly yes with appendfsync always, so that every
	// acknowledged write survives a stop (outage tests).
	AppendOnly bool
	// Args are extra redis-server arguments, such as "--maxmemory", "10mb".
	Args []string

	cluster bool
}

// Redis is one redis-server process on 127.0.0.1. Its methods are safe for
// concurrent use.
type Redis struct {
	Addr string // host:port

	bin, dir string
	args     []string
	mu       sync.Mutex
	p        *proc
}

// StartRedis starts a redis-server for t and stops it, deleting its data, at
// t's Cleanup. It skips t when redis-server is not installed (fails under CI=true).
func StartRedis(t testing.TB, opts *RedisOptions) *Redis {
	t.Helper()
	bin := need(t, "redis-server", []string{"redis-server"})
	r, err := startRedis(t, bin, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// SharedRedis returns the standalone redis-server shared by every test of
// this test binary (see [Main]); without Main it is [StartRedis].
func SharedRedis(t testing.TB) *Redis {
	t.Helper()
	bin := need(t, "redis-server", []string{"redis-server"})
	return sharedServer(t, "redis", func(c cleaner) (*Redis, error) { return startRedis(c, bin, nil) })
}

func startRedis(c cleaner, bin string, opts *RedisOptions) (*Redis, error) {
	if opts == nil {
		opts = &RedisOptions{}
	}
	return startRedisArgs(c, bin, func(port int, dir string) ([]string, error) {
		args := []string{
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
			"--daemonize", "no", "--protected-mode", "no", "--save", "",
			"--logfile", filepath.Join(dir, "redis.log"),
		}
		if opts.AppendOnly {
			args = append(args, "--appendonly", "yes", "--appendfsync", "always")
		} else {
			args = append(args, "--appendonly", "no")
		}
		if opts.cluster {
			args = append(args, "--cluster-enabled", "yes", "--cluster-config-file",
				filepath.Join(dir, "nodes.conf"), "--cluster-node-timeout", "5000")
		}
		return append(args, opts.Args...), nil
	})
}

// startRedisArgs starts redis-server in a new temporary directory on a free
// port with the arguments mkArgs returns for them.
func startRedisArgs(c cleaner, bin string, mkArgs func(port int, dir string) ([]string, error)) (*Redis, error) {
	dir, err := os.MkdirTemp("", "keycard-redis-")
	if err != nil {
		return nil, err
	}
	c.Cleanup(func() { os.RemoveAll(dir) })
	var lastErr error
	for range 5 { // another process may take the port between the check and the bind
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		args, err := mkArgs(port, dir)
		if err != nil {
			return nil, err
		}
		r := &Redis{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), bin: bin, dir: dir, args: args}
		if lastErr = r.Start(); lastErr == nil {
			c.Cleanup(func() { r.Stop() })
			return r, nil
		}
	}
	return nil, lastErr
}

// URL returns redis://Addr.
func (r *Redis) URL() string { return "redis://" + r.Addr }

// Dir returns the server's data directory.
func (r *Redis) Dir() string { return r.dir }

// Start starts the server again after Stop, on the same port with the same
// data directory. It returns once the server answers PING.
func (r *Redis) Start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.p != nil {
		select {
		case <-r.p.exited:
		default:
			return errors.New("testserver: redis-server already running")
		}
	}
	p, err := startProc(exec.Command(r.bin, r.args...))
	if err != nil {
		return err
	}
	r.p = p
	// Ready when the server on the port is this process (not one that
	// another test started on the same port in the meantime).
	pid := fmt.Sprintf("process_id:%d\r\n", p.cmd.Process.Pid)
	err = waitFor(15*time.Second, p.exited, func() error {
		reply, err := RedisCommand(r.Addr, "INFO", "server")
		if err == nil && !strings.Contains(reply, pid) {
			err = fmt.Errorf("the server on %s is another process", r.Addr)
		}
		return err
	})
	if err != nil {
		p.stop(9)
		return fmt.Errorf("testserver: redis-server on %s: %v\n%s", r.Addr, err, logTail(filepath.Join(r.dir, "redis.log")))
	}
	return nil
}

// Stop stops the server (SIGTERM: with appendonly the log is flushed first)
// and waits for it to exit. Stopping a stopped server does nothing.
func (r *Redis) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.p != nil {
		r.p.stop(15)
	}
}

// RedisCommand sends one command in RESP to addr and returns the reply as
// text: a simple string, an integer, a bulk string, or an error. It is for
// harness set-up, not for tests of the stores.
func RedisCommand(addr string, args ...string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := conn.Write([]byte(b.String())); err != nil {
		return "", err
	}
	br := bufio.NewReader(conn)
	line, err := br.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("empty reply")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", errors.New(line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(br, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
	return line, nil
}

// RedisCluster is a Redis Cluster of 3 masters (no replicas) on 127.0.0.1.
type RedisCluster struct {
	Nodes []*Redis
}

// Addrs returns the nodes' addresses.
func (c *RedisCluster) Addrs() []string {
	a := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		a[i] = n.Addr
	}
	return a
}

// URL returns a redis:// URL naming every node (redis://a,b,c), the form
// that redisstore.Open takes as a Cluster.
func (c *RedisCluster) URL() string { return "redis://" + strings.Join(c.Addrs(), ",") }

// StartRedisCluster starts 3 redis-server processes in cluster mode, joins them
// with redis-cli --cluster create and waits until the cluster state is ok. It
// needs redis-server and redis-cli (Debian redis-tools).
func StartRedisCluster(t testing.TB) *RedisCluster {
	t.Helper()
	srv := need(t, "redis-server", []string{"redis-server"})
	cli := need(t, "redis-tools", []string{"redis-cli"})
	c, err := startRedisCluster(t, srv, cli)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// SharedRedisCluster returns the cluster shared by every test of this test
// binary (see [Main]); without Main it is [StartRedisCluster].
func SharedRedisCluster(t testing.TB) *RedisCluster {
	t.Helper()
	srv := need(t, "redis-server", []string{"redis-server"})
	cli := need(t, "redis-tools", []string{"redis-cli"})
	return sharedServer(t, "redis-cluster", func(c cleaner) (*RedisCluster, error) { return startRedisCluster(c, srv, cli) })
}

func startRedisCluster(c cleaner, srv, cli string) (*RedisCluster, error) {
	rc := &RedisCluster{}
	for range 3 {
		n, err := startRedis(c, srv, &RedisOptions{cluster: true})
		if err != nil {
			return nil, err
		}
		rc.Nodes = append(rc.Nodes, n)
	}
	args := append([]string{"--cluster", "create"}, rc.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	out, err := exec.Command(cli, args...).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("testserver: redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, n := range rc.Nodes {
		err := waitFor(30*time.Second, nil, func() error {
			info, err := RedisCommand(n.Addr, "CLUSTER", "INFO")
			if err != nil {
				return err
			}
			if !strings.Contains(info, "cluster_state:ok") {
				return errors.New("cluster_state not ok")
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("testserver: redis cluster node %s: %v", n.Addr, err)
		}
	}
	return rc, nil
}

// RedisSentinel is a standalone master watched by one Sentinel, which
// clients ask for the master's address.
type RedisSentinel struct {
	Master, Sentinel *Redis
	MasterName       string
}

// URL returns the Sentinel form of a redisstore URL:
// redis://sentinel?master_name=NAME.
func (s *RedisSentinel) URL() string {
	return "redis://" + s.Sentinel.Addr + "?master_name=" + s.MasterName
}

// StartRedisSentinel starts a redis-server master and a Sentinel (redis-server
// --sentinel) that monitors it under the name "keycard".
func StartRedisSentinel(t testing.TB) *RedisSentinel {
	t.Helper()
	bin := need(t, "redis-server", []string{"redis-server"})
	master, err := startRedis(t, bin, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, mport, _ := net.SplitHostPort(master.Addr)
	sentinel, err := startRedisArgs(t, bin, func(port int, dir string) ([]string, error) {
		conf := filepath.Join(dir, "sentinel.conf")
		body := fmt.Sprintf("port %d\nbind 127.0.0.1\ndaemonize no\nprotected-mode no\ndir %s\nlogfile %s\n"+
			"sentinel monitor keycard 127.0.0.1 %s 1\nsentinel down-after-milliseconds keycard 5000\n",
			port, dir, filepath.Join(dir, "redis.log"), mport)
		return []string{conf, "--sentinel"}, os.WriteFile(conf, []byte(body), 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = waitFor(15*time.Second, nil, func() error {
		reply, err := RedisCommand(sentinel.Addr, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "keycard")
		if err == nil && reply != "*2" {
			err = fmt.Errorf("SENTINEL GET-MASTER-ADDR-BY-NAME: %q", reply)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return &RedisSentinel{Master: master, Sentinel: sentinel, MasterName: "keycard"}
}
