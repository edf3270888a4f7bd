package pluginwire_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/swcli/swcli/internal/pluginwire"
	"github.com/swcli/swcli/internal/pluginwire/pb"
)

// TestWireIsPinned: what an already-built plugin sees. Changing any of
// these breaks every plugin in the field; bump the protocol version
// instead and keep serving the old one.
func TestWireIsPinned(t *testing.T) {
	assert.Equal(t, uint(1), pluginwire.Handshake.ProtocolVersion)
	assert.Equal(t, "SWCLI_PLUGIN_MAGIC_COOKIE", pluginwire.Handshake.MagicCookieKey)
	assert.Equal(t, "5c0f1c3e-7a3b-4f43-9c59-3b1d6e2f8a11", pluginwire.Handshake.MagicCookieValue)
	fd := pb.File_plugin_proto
	assert.Equal(t, "swcli.plugin.v1", string(fd.Package()))
	var services []string
	for i := 0; i < fd.Services().Len(); i++ {
		services = append(services, string(fd.Services().Get(i).FullName()))
	}
	assert.Equal(t, []string{"swcli.plugin.v1.Base", "swcli.plugin.v1.Mode", "swcli.plugin.v1.Store"}, services)
	assert.Contains(t, pluginwire.ClientSets(), 1)
}
