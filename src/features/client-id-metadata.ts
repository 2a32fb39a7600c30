import type { ServerContext } from '../context.js'
import type { Feature } from './types.js'

/**
 * Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document):
 * an https `client_id` names the JSON document that describes the client.
 * No endpoint of its own: the client registry resolves such clients
 * (`clients/metadata-document.ts`), and this unit advertises the support
 * when `clientIdMetadataDocuments.enabled` is on.
 */
export const clientIdMetadataFeature: Feature = {
  name: 'client-id-metadata',
  enabled: (ctx) => (ctx as ServerContext).clientIdMetadataDocuments.enabled,
  clientMetadata: ['client_id', 'jwks_uri'],
  options: ['clientIdMetadataDocuments', 'clientIdMetadataDocuments.enabled', 'clientIdMetadataDocuments.allowedHosts', 'clientIdMetadataDocuments.policy'],
  // CIMD §6: servers that publish metadata MUST include it when they support the draft.
  discovery: () => ({ client_id_metadata_document_supported: true }),
}
