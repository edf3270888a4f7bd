package mode_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/mode"
)

// broken is a mode that returns whatever the test tells it to: the wrapper's
// job is to catch modes that break the contract, which no shipped mode does.
type broken struct {
	mode.Mode
	lock mode.Lock
	rep  mode.FilesReport
}

func (b *broken) Lock(context.Context, mode.LockRequest, mode.Events) (mode.Lock, error) {
	return b.lock, nil
}
func (b *broken) Files(context.Context, mode.FilesRequest) (mode.FilesReport, error) {
	return b.rep, nil
}

func TestCheckedLock(t *testing.T) {
	ctx := context.Background()
	for name, tc := range map[string]struct {
		files []mode.LockFile
		want  string
	}{
		"ok":     {[]mode.LockFile{{Name: "requirements-lock.txt"}}, ""},
		"slash":  {[]mode.LockFile{{Name: "../x"}}, `the tm mode broke the mode contract in Lock: returned a lock file with a bad name "../x" (a plain file name, not starting with '.')`},
		"hidden": {[]mode.LockFile{{Name: ".env"}}, `bad name ".env"`},
		"twice":  {[]mode.LockFile{{Name: "a"}, {Name: "a"}}, `the lock file "a" twice`},
	} {
		t.Run(name, func(t *testing.T) {
			b := &broken{lock: mode.Lock{Python: "3.11.2", Packages: []mode.LockedPackage{{Name: "p", Version: "1"}}, Files: tc.files}}
			_, err := mode.Checked("tm", mode.Info{}, b).Lock(ctx, mode.LockRequest{}, nil)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			var ce *mode.ContractError
			require.True(t, errors.As(err, &ce), "%v", err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestCheckedFiles(t *testing.T) {
	ctx := context.Background()
	editable := mode.Info{Capabilities: mode.Capabilities{IncludeEditable: true}}
	pkg := func(p mode.PackageFiles) mode.FilesReport {
		p.Name, p.Version = "edpkg", "1"
		return mode.FilesReport{Packages: []mode.PackageFiles{p}}
	}
	for name, tc := range map[string]struct {
		info mode.Info
		req  mode.FilesRequest
		rep  mode.FilesReport
		want string
	}{
		"ok":             {editable, mode.FilesRequest{IncludeEditable: true}, pkg(mode.PackageFiles{Files: []string{"lib/a.py"}, External: []mode.ExternalFile{{Src: "/src/a.py", Dest: "lib/b.py"}}, Drop: []string{"lib/x.pth"}}), ""},
		"absolute":       {mode.Info{}, mode.FilesRequest{}, pkg(mode.PackageFiles{Files: []string{"/etc/passwd"}}), `edpkg owns "/etc/passwd", which is not a path under the prefix`},
		"climbs":         {mode.Info{}, mode.FilesRequest{}, pkg(mode.PackageFiles{Files: []string{"lib/../../x"}}), `not a path under the prefix`},
		"exclude":        {mode.Info{}, mode.FilesRequest{}, mode.FilesReport{Exclude: []string{"../"}}, `an Exclude path "../" outside the prefix`},
		"unasked":        {editable, mode.FilesRequest{}, pkg(mode.PackageFiles{Drop: []string{"lib/x.pth"}}), `although IncludeEditable was not asked for`},
		"relative src":   {editable, mode.FilesRequest{IncludeEditable: true}, pkg(mode.PackageFiles{External: []mode.ExternalFile{{Src: "src/a.py", Dest: "lib/a.py"}}}), `not an absolute path`},
		"undeclared":     {mode.Info{}, mode.FilesRequest{IncludeEditable: true}, mode.FilesReport{}, `the tm mode does not support --include-editable`},
		"dest outside":   {editable, mode.FilesRequest{IncludeEditable: true}, pkg(mode.PackageFiles{External: []mode.ExternalFile{{Src: "/s/a.py", Dest: "/a.py"}}}), `at "/a.py"`},
		"exclude folder": {mode.Info{}, mode.FilesRequest{}, mode.FilesReport{Exclude: []string{"lib/__pycache__/"}}, ""},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := mode.Checked("tm", tc.info, &broken{rep: tc.rep}).Files(ctx, tc.req)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
