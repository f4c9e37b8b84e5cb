package results

import (
	"errors"
	"os"
	"testing"
	"time"
)

func TestWriteThenReadKeepsEveryField(t *testing.T) {
	dir := t.TempDir()
	sec := 4.25
	in := Detect{
		Header: Header{Section: "detect", Command: "meshbench detect -n 5", Started: time.Unix(100, 0).UTC()},
		Config: "ours", Nodes: 5,
		Runs: []FaultRun{{Fault: "partition", Rep: 1, NonHealthy: &sec, Watched: []string{EventNonHealthy}}},
	}
	if err := Write(dir, FileDetect, in); err != nil {
		t.Fatal(err)
	}
	var out Detect
	if err := Read(dir, FileDetect, &out); err != nil {
		t.Fatal(err)
	}
	if out.Command != in.Command || len(out.Runs) != 1 || *out.Runs[0].NonHealthy != sec || !out.Started.Equal(in.Started) {
		t.Fatalf("read back %+v, want %+v", out, in)
	}
}

func TestReadOfAMissingSectionSaysMissing(t *testing.T) {
	var v Soak
	err := Read(t.TempDir(), FileSoak, &v)
	if !Missing(err) {
		t.Fatalf("err = %v, want a missing-file error", err)
	}
	if Missing(errors.New("other")) {
		t.Fatal("an unrelated error counts as missing")
	}
}

func TestWriteLeavesNoTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir, FileSoak, Soak{Nodes: 3}); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != FileSoak {
		t.Fatalf("dir holds %v, want only %s", entries, FileSoak)
	}
}

func TestMachineFieldsFromProcText(t *testing.T) {
	cpuinfo := "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\nprocessor\t: 1\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\n"
	if got := cpuModel(cpuinfo); got != "Intel(R) Xeon(R) CPU @ 2.20GHz" {
		t.Errorf("cpuModel = %q", got)
	}
	if got := cpuModel("processor: 0\n"); got != "unknown" {
		t.Errorf("cpuModel without a model line = %q, want unknown", got)
	}
	if got := memTotal("MemTotal:       24684032 kB\nMemFree: 1 kB\n"); got != 24684032*1024 {
		t.Errorf("memTotal = %d", got)
	}
}
