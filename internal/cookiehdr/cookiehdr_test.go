package cookiehdr

import (
	"slices"
	"testing"
)

func TestValues(t *testing.T) {
	lines := []string{`a=1; kc=x; b`, ` kc="y" ;kc=; kcx=z`, ``, `kc`}
	got := slices.Collect(Values(lines, "kc"))
	if want := []string{"x", `"y"`, ""}; !slices.Equal(got, want) {
		t.Errorf("Values = %q, want %q", got, want)
	}
	for range Values(lines, "kc") {
		break // stopping early must not panic
	}
	if got := slices.Collect(Values(nil, "kc")); got != nil {
		t.Errorf("Values(nil) = %q", got)
	}
}
