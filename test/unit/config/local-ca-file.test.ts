import { resolve } from 'node:path';
import { load } from '../../helpers/config';

/* The CA bundle the delivery card's token request names for curl: the local tenant's, and only the local tenant's. */

const localTenant = { GRAPH_ENDPOINT: 'https://127.0.0.1:8443', AUTHORITY_HOST: 'https://127.0.0.1:8443' };

test('when Graph and sign-in are the local tenant and NODE_EXTRA_CA_CERTS names its bundle, then the config holds that file as an absolute path', () => {
  const config = load({ ...localTenant, NODE_EXTRA_CA_CERTS: '.registrar/tenant/ca-bundle.pem' });
  expect(config.graph.localCaFile).toBe(resolve('.registrar/tenant/ca-bundle.pem'));
});

test('when Graph is a real cloud, then no CA file is named, whatever NODE_EXTRA_CA_CERTS says', () => {
  expect(load({ NODE_EXTRA_CA_CERTS: '/etc/corp/proxy-ca.pem' }).graph.localCaFile).toBeUndefined();
  expect(
    load({
      GRAPH_ENDPOINT: 'https://graph.microsoft.com',
      AUTHORITY_HOST: 'https://127.0.0.1:8443',
      NODE_EXTRA_CA_CERTS: '/x.pem',
    }).graph.localCaFile,
  ).toBeUndefined();
});

test('when the local tenant is used without NODE_EXTRA_CA_CERTS, then no CA file is named', () => {
  expect(load(localTenant).graph.localCaFile).toBeUndefined();
});
