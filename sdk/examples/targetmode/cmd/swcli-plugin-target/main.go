// Command swcli-plugin-target is the example "target" environment mode as a
// swcli plugin. Build it and install it into swcli:
//
//	go build -o swcli-plugin-target ./sdk/examples/targetmode/cmd/swcli-plugin-target
//	swcli plugin install ./swcli-plugin-target
package main

import (
	"github.com/swcli/swcli/sdk"
	"github.com/swcli/swcli/sdk/examples/targetmode"
)

func main() {
	sdk.ServeMode(targetmode.New())
}
