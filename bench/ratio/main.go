// Command ratio reads `go test -bench` output and prints, for each HTTP
// scenario, every library's median ns/op and allocs/op as a ratio to the
// floor (a bare handler) and to scs, the reference library; and for each
// store scenario the ratio to the store's raw driver read, to the same
// scenario on memstore, and the store round trips per request. For the
// read-vs-raw scenario, which alternates the read request, a raw read
// through the same client and that raw read in a bare handler in one loop,
// ×raw and ×raw-http are the medians of the read's paired ratios to each
// (the fair ones: all saw the same machine and connection), and ns/op is the
// five timings of that loop together. A last table splits the read's time
// over the raw read into its parts, as medians over the rounds of the
// differences between neighbouring timings of one round.
//
//	go run ./ratio results/new.txt
package main

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/keycard-go/keycard/bench/internal/stats"
)

type key struct{ scenario, lib string }

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: ratio BENCH-OUTPUT")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	ns := map[key][]float64{}
	allocs := map[key][]float64{}
	rts := map[key][]float64{}
	paired := map[key][]float64{}            // read/raw of the read-vs-raw benchmarks
	pairedHTTP := map[key][]float64{}        // read/raw-http of the same
	rounds := map[key][]map[string]float64{} // the timings of each read-vs-raw round
	var order, storeOrder []key
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 {
			continue
		}
		isStore := strings.HasPrefix(fields[0], "BenchmarkStores/")
		if !isStore && !strings.HasPrefix(fields[0], "BenchmarkHTTP/") {
			continue
		}
		k, ok := parseName(fields[0])
		if !ok {
			continue
		}
		if isStore {
			k.scenario = "store:" + k.scenario
		}
		if _, seen := ns[k]; !seen {
			if isStore {
				storeOrder = append(storeOrder, k)
			} else {
				order = append(order, k)
			}
		}
		timings := map[string]float64{}
		for i := 2; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			if name, ok := strings.CutSuffix(fields[i+1], "-ns/op"); ok {
				timings[name] = v
			}
			switch fields[i+1] {
			case "ns/op":
				ns[k] = append(ns[k], v)
			case "allocs/op":
				allocs[k] = append(allocs[k], v)
			case "roundtrips/op":
				rts[k] = append(rts[k], v)
			case "read/raw":
				paired[k] = append(paired[k], v)
			case "read/raw-http":
				pairedHTTP[k] = append(pairedHTTP[k], v)
			}
		}
		if len(timings) > 0 {
			rounds[k] = append(rounds[k], timings)
		}
	}
	floor := stats.Median(ns[key{"floor", "none"}])
	if floor == 0 && len(order) > 0 {
		fmt.Fprintln(os.Stderr, "ratio: no floor benchmark in the input")
		os.Exit(1)
	}
	if len(order) > 0 {
		printHTTP(order, ns, allocs, floor)
	}
	if len(storeOrder) > 0 {
		printStores(storeOrder, ns, allocs, rts, paired, pairedHTTP)
		printBreakdown(storeOrder, rounds)
	}
}

// parts of a read over the raw read: each is one timing of the read-vs-raw
// loop minus another.
var parts = []struct{ name, of, minus string }{
	{"store Get", "get", "raw"},
	{"request handling", "raw-http", "raw"},
	{"Get in a handler", "get-http", "raw-http"},
	{"middleware", "read", "get-http"},
	{"whole read", "read", "raw"},
}

func printBreakdown(storeOrder []key, rounds map[key][]map[string]float64) {
	first := true
	for _, k := range storeOrder {
		rs := rounds[k]
		if len(rs) == 0 {
			continue
		}
		if first {
			fmt.Printf("\n%-16s %-18s %12s %18s\n", "store", "part of the read", "µs, median", "range")
			first = false
		}
		for _, p := range parts {
			var d []float64
			for _, r := range rs {
				a, okA := r[p.of]
				b, okB := r[p.minus]
				if okA && okB {
					d = append(d, (a-b)/1000)
				}
			}
			if len(d) == 0 {
				continue
			}
			fmt.Printf("%-16s %-18s %12.1f %8.1f … %6.1f\n", k.lib, p.name, stats.Median(d), slices.Min(d), slices.Max(d))
		}
	}
}

func printHTTP(order []key, ns, allocs map[key][]float64, floor float64) {
	fmt.Printf("%-8s %-8s %12s %10s %10s %10s\n", "scenario", "lib", "ns/op", "×floor", "×scs", "allocs/op")
	for _, k := range order {
		n := stats.Median(ns[k])
		vsSCS := "-"
		if s := stats.Median(ns[key{k.scenario, "scs"}]); s > 0 && k.lib != "none" {
			vsSCS = fmt.Sprintf("%.2f", n/s)
		}
		fmt.Printf("%-8s %-8s %12.0f %10.2f %10s %10.0f\n", k.scenario, k.lib, n, n/floor, vsSCS, stats.Median(allocs[k]))
	}
}

func printStores(storeOrder []key, ns, allocs, rts, paired, pairedHTTP map[key][]float64) {
	fmt.Printf("\n%-8s %-16s %12s %8s %10s %10s %12s %10s\n", "scenario", "store", "ns/op", "×raw", "×raw-http", "×memstore", "roundtrips", "allocs/op")
	for _, k := range storeOrder {
		sc := strings.TrimPrefix(k.scenario, "store:")
		n := stats.Median(ns[k])
		vsRaw, vsRawHTTP, vsMem, rt := "-", "-", "-", "-"
		if raw := stats.Median(ns[key{"store:raw", k.lib}]); raw > 0 && sc != "raw" {
			vsRaw = fmt.Sprintf("%.2f", n/raw)
		}
		if p := paired[k]; len(p) > 0 {
			// Both sides timed in the same loop: the fair ratio.
			vsRaw = fmt.Sprintf("%.2f", stats.Median(p))
		}
		if p := pairedHTTP[k]; len(p) > 0 {
			vsRawHTTP = fmt.Sprintf("%.2f", stats.Median(p))
		}
		if mem := stats.Median(ns[key{k.scenario, "memstore"}]); mem > 0 && sc != "raw" {
			vsMem = fmt.Sprintf("%.2f", n/mem)
		}
		if k.lib == "sealed-memstore" {
			if mem := stats.Median(ns[key{"store:read", "memstore"}]); mem > 0 {
				vsMem = fmt.Sprintf("%.2f", n/mem)
			}
		}
		if v := rts[k]; len(v) > 0 {
			rt = fmt.Sprintf("%.2f", stats.Median(v))
		}
		fmt.Printf("%-8s %-16s %12.0f %8s %10s %10s %12s %10.0f\n", sc, k.lib, n, vsRaw, vsRawHTTP, vsMem, rt, stats.Median(allocs[k]))
	}
}

// parseName splits "BenchmarkHTTP/scenario=read/lib=keycard-2".
func parseName(name string) (key, bool) {
	var k key
	for _, part := range strings.Split(name, "/")[1:] {
		if i := strings.LastIndexByte(part, '-'); i > 0 && strings.HasPrefix(part, "lib=") {
			if _, err := strconv.Atoi(part[i+1:]); err == nil {
				part = part[:i]
			}
		}
		switch {
		case strings.HasPrefix(part, "scenario="):
			k.scenario = strings.TrimPrefix(part, "scenario=")
		case strings.HasPrefix(part, "lib="):
			k.lib = strings.TrimPrefix(part, "lib=")
		}
	}
	return k, k.scenario != "" && k.lib != ""
}
