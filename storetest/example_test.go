package storetest_test

import (
	"fmt"

	"github.com/keycard-go/keycard/storetest"
)

func ExampleNewRecord() {
	r := storetest.NewRecord("alice")
	fmt.Println(r.Subject, r.Kind, r.State == 0, len(r.ID), string(r.Data))
	fmt.Println(r.KeepUntil().Sub(r.CreatedAt))
	// Output:
	// alice browser true 22 {"k":"v"}
	// 30m0s
}

func ExampleDiff() {
	want := storetest.NewRecord("alice")
	got := want.Clone()
	got.Subject = "bob"
	got.Data = nil
	fmt.Print(storetest.Diff(got, want))
	// Output:
	//	Subject: got "bob", want "alice"
	//	Data: got "", want "{\"k\":\"v\"}"
}
