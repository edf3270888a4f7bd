package base_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swcli/swcli/core/plugin/base"
)

// TestOldCapabilityListStillUnderstood reads the Info JSON of a plugin built
// before capabilities were typed (the conda plugin's list of the last
// landed sdk): the names the host reads become fields, the retired ones
// are dropped, unknown ones are kept as Other.
func TestOldCapabilityListStillUnderstood(t *testing.T) {
	old := `{"name":"conda","kind":"mode","version":"0.1","protocol_versions":[1],
		"capabilities":["relocate","lock","conda-dependencies","pip-dependencies","self-contained","zstd"]}`
	var i base.Info
	require.NoError(t, json.Unmarshal([]byte(old), &i))
	assert.Equal(t, base.Capabilities{Relocate: true, SelfContained: true, Other: []string{"zstd"}}, i.Capabilities)

	b, err := json.Marshal(i)
	require.NoError(t, err)
	assert.JSONEq(t, `{"name":"conda","kind":"mode","version":"0.1","protocol_versions":[1],
		"capabilities":["relocate","self-contained","zstd"]}`, string(b))

	b, err = json.Marshal(base.Info{Name: "s", Kind: base.KindStore})
	require.NoError(t, err)
	assert.NotContains(t, string(b), "capabilities", "nothing declared, nothing written")
}

func TestNamesRoundTrip(t *testing.T) {
	c := base.Capabilities{Relocate: true, IncludeEditable: true, Other: []string{"range-get"}}
	assert.Equal(t, []string{"relocate", "include-editable", "range-get"}, c.Names())
	assert.Equal(t, c, base.ParseCapabilities(c.Names()))
	assert.True(t, base.Capabilities{}.IsZero())
}
