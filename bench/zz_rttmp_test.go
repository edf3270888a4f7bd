package main

import (
	"os"
	"testing"
)

func TestRtTmp(t *testing.T) {
	_, err := rtSetup("../bin", "out")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []func(string, string) error{rtBuild} {
		if err := f("../bin", "out"); err != nil {
			t.Fatal(err)
		}
	}
	_ = os.Stdout
}
