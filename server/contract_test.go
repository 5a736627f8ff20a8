package server

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/keycard-go/keycard/api"
)

// The contract tests: every request a test of this package sends through
// testServer is checked against api/openapi.yaml, and so is its response.
// A response must have a status the operation documents (500 aside) and a
// body and headers its schema allows; a request answered 2xx must itself
// be valid (the error-path tests send invalid requests on purpose). When
// the whole suite runs, TestMain then fails unless every operation of the
// document was exercised, so an endpoint cannot go untested or undocumented.

var contract = sync.OnceValues(func() (routers.Router, error) {
	doc, err := openapi3.NewLoader().LoadFromData(api.Spec)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, err
	}
	// The test servers listen on 127.0.0.1 ports the document cannot know.
	doc.Servers = nil
	return legacy.NewRouter(doc)
})

// seen records the operations and statuses the tests exercised.
var seen = struct {
	sync.Mutex
	ops map[string]map[int]bool
}{ops: map[string]map[int]bool{}}

// checkContract validates req (with its body) and res against the document.
func checkContract(t testing.TB, req *http.Request, reqBody []byte, res *http.Response, resBody []byte) {
	t.Helper()
	router, err := contract()
	if err != nil {
		t.Fatalf("api/openapi.yaml: %v", err)
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		// Unknown paths and methods: the document's general rule.
		if res.StatusCode != http.StatusNotFound && res.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("contract: %s %s is not in the document but got %d", req.Method, req.URL.Path, res.StatusCode)
		}
		return
	}
	op := route.Operation
	if res.StatusCode != http.StatusInternalServerError && op.Responses.Status(res.StatusCode) == nil {
		t.Fatalf("contract: %s (%s %s) answered %d, which the document does not list for it: %s",
			op.OperationID, req.Method, req.URL.Path, res.StatusCode, resBody)
	}
	seen.Lock()
	if seen.ops[op.OperationID] == nil {
		seen.ops[op.OperationID] = map[int]bool{}
	}
	seen.ops[op.OperationID][res.StatusCode] = true
	seen.Unlock()

	vreq := req.Clone(req.Context())
	vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
	in := &openapi3filter.RequestValidationInput{
		Request: vreq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	if res.StatusCode < 300 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Fatalf("contract: a request answered %d does not match the document: %v", res.StatusCode, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 res.StatusCode,
		Header:                 res.Header,
		Body:                   io.NopCloser(bytes.NewReader(resBody)),
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			// The document describes itself as a string; the validator
			// would parse it as YAML first.
			ExcludeResponseBody: op.OperationID == "openapi",
		},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Fatalf("contract: %s answered %d with a response that does not match the document: %v\n%s",
			op.OperationID, res.StatusCode, err, resBody)
	}
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if code == 0 && flag.Lookup("test.run").Value.String() == "" && !testing.Short() {
		if missing := unexercised(); len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "contract: operations of api/openapi.yaml no test exercised: %v\n", missing)
			code = 1
		}
	}
	os.Exit(code)
}

// unexercised lists the document's operations that no test got a
// documented success answer from.
func unexercised() []string {
	router, err := contract()
	if err != nil {
		return []string{err.Error()}
	}
	_ = router
	doc, _ := openapi3.NewLoader().LoadFromData(api.Spec)
	var missing []string
	seen.Lock()
	defer seen.Unlock()
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			ok := false
			for code := range seen.ops[op.OperationID] {
				ok = ok || code < 300
			}
			if !ok {
				missing = append(missing, method+" "+path+" ("+op.OperationID+")")
			}
		}
	}
	sort.Strings(missing)
	return missing
}

// TestContractErrorCodes: every error code the server's own errors carry
// is listed in the document.
func TestContractErrorCodes(t *testing.T) {
	for _, e := range []*apiError{errUnsupportedMediaType, errBodyTooLarge, errInvalidCredentials, errAdminKey,
		errLoginLimited, errNotFound, errMethodNotAllowed, errCrossOrigin, errNoSuchSession, errNotAuthenticated,
		errNoUsers, errReauth, errInvalidBearer} {
		if !bytes.Contains(api.Spec, []byte(e.code)) {
			t.Errorf("code %q (%d) is not in api/openapi.yaml", e.code, e.status)
		}
	}
}
