package gateway_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// nginx runs Debian's nginx with testdata/nginx.conf.tmpl (and its two
// include files) inside a minimal main configuration whose pid file, logs
// and temporary files are in the test's directory.
var nginx = proxyKind{name: "nginx", start: func(t testing.TB, kc, app string) string {
	bin := need(t, "nginx", "/usr/sbin/nginx")
	dir := t.TempDir()
	return startProxy(t, "nginx", func(addr string) (*exec.Cmd, error) {
		p := configParams{Listen: addr, Keycard: kc, App: app}
		files := map[string]string{
			"keycard-auth.conf":     render(t, "keycard-auth.conf", p),
			"keycard-identity.conf": render(t, "keycard-identity.conf", p),
			"site.conf":             render(t, "nginx.conf", p),
			"nginx.conf":            nginxMain(dir),
		}
		for name, text := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
				return nil, err
			}
		}
		return exec.Command(bin, "-p", dir, "-e", "stderr", "-c", filepath.Join(dir, "nginx.conf"), "-g", "daemon off;"), nil
	})
}}

// nginxMain is the main configuration around site.conf: nothing outside
// dir, one worker, errors on stderr.
func nginxMain(dir string) string {
	var b strings.Builder
	if os.Geteuid() == 0 {
		// Workers would run as nobody, who cannot enter the test's
		// directory.
		b.WriteString("user root;\n")
	}
	b.WriteString(`worker_processes 1;
pid ` + dir + `/nginx.pid;
error_log stderr notice;
events {
    worker_connections 1024;
}
http {
    access_log off;
    client_body_temp_path ` + dir + `/client_body;
    proxy_temp_path ` + dir + `/proxy;
    fastcgi_temp_path ` + dir + `/fastcgi;
    uwsgi_temp_path ` + dir + `/uwsgi;
    scgi_temp_path ` + dir + `/scgi;
    include ` + dir + `/site.conf;
}
`)
	return b.String()
}

// caddy runs Debian's Caddy with testdata/Caddyfile.tmpl, its admin
// endpoint off and its storage, config and data directories in the test's
// directory.
var caddy = proxyKind{name: "caddy", start: func(t testing.TB, kc, app string) string {
	bin := need(t, "caddy", "/usr/bin/caddy")
	dir := t.TempDir()
	return startProxy(t, "caddy", func(addr string) (*exec.Cmd, error) {
		site := render(t, "Caddyfile", configParams{Site: "http://" + addr, Keycard: kc, App: app})
		global := "{\n\tadmin off\n\tauto_https off\n\tstorage file_system " + dir + "/storage\n}\n\n"
		conf := filepath.Join(dir, "Caddyfile")
		if err := os.WriteFile(conf, []byte(global+site), 0o600); err != nil {
			return nil, err
		}
		cmd := exec.Command(bin, "run", "--config", conf, "--adapter", "caddyfile")
		cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+dir+"/config", "XDG_DATA_HOME="+dir+"/data")
		return cmd, nil
	})
}}
