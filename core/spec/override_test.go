package spec

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOverridesApply(t *testing.T) {
	s := &Spec{Name: "old", Environment: Environment{CUDA: "11.0", Arch: []string{"noarch"}}}
	require.NoError(t, Overrides{}.Apply(s))
	assert.Equal(t, "old", s.Name, "empty overrides keep the file's facts")
	require.NoError(t, Overrides{Name: "new-rt", CUDA: "12.1", CUDNN: "8", Arch: []string{"x86_64", "amd64", "aarch64"}}.Apply(s))
	assert.Equal(t, "new-rt", s.Name)
	assert.Equal(t, "12.1", s.Environment.CUDA)
	assert.Equal(t, "8", s.Environment.CUDNN)
	assert.Equal(t, []string{"amd64", "arm64"}, s.Environment.Arch)

	for o, want := range map[*Overrides]string{
		{Name: "Bad Name"}:        "--name",
		{CUDA: "twelve"}:          `--cuda "twelve" is not a CUDA version`,
		{CUDNN: "8a"}:             `--cudnn "8a"`,
		{Arch: []string{"sparc"}}: `--arch "sparc" is not an architecture; allowed: noarch, amd64, arm64`,
	} {
		before := *s
		err := o.Apply(s)
		require.Error(t, err)
		assert.Contains(t, err.Error(), want)
		assert.Equal(t, before.Name, s.Name)
	}
}
