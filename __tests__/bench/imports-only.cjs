// The floor under the app's synth time: plain node loading cdktf, constructs and the provider
// modules the stacks use, and nothing else.
require('cdktf');
require('constructs');
require('@cdktf/provider-nomad/lib/provider');
require('@cdktf/provider-nomad/lib/job');
require('@cdktf/provider-nomad/lib/variable');
require('@cdktf/provider-nomad/lib/data-nomad-regions');
require('@cdktf/provider-docker/lib/provider');
require('@cdktf/provider-docker/lib/image');
require('@cdktf/provider-docker/lib/registry-image');
