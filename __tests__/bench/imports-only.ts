// The floor under the app's synth time: loading cdktf and the provider modules the app uses, nothing else.
import 'cdktf';
import '@cdktf/provider-nomad/lib/provider';
import '@cdktf/provider-nomad/lib/job';
import '@cdktf/provider-docker/lib/provider';
import '@cdktf/provider-docker/lib/image';
import '@cdktf/provider-docker/lib/registry-image';
