// Command swcli-plugin-s3store is the S3 store plugin: it serves
// plugins/s3store/s3store over the swcli plugin protocol. It is configured by
// the store URL the host gives it in SW_STORE_URL, or by environment variables (SW_S3_ENDPOINT, SW_S3_BUCKET, SW_S3_PREFIX,
// SW_S3_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY ...), listed in the
// s3store package documentation and in the plugin's Info.ConfigSchema.
package main

import (
	"context"

	"github.com/swcli/swcli/plugins/s3store/s3store"
	"github.com/swcli/swcli/sdk"
)

var version = "0.1.0-dev"

func main() {
	opts := s3store.Options{Version: version, Logger: sdk.Logger(s3store.Name)}
	sdk.ServeStore(s3store.FromEnv(context.Background(), opts), s3store.PluginInfo(version))
}
