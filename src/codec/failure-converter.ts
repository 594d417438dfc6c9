// Failures with their message and stack trace moved into an encoded payload (`encodedAttributes`), so
// that the payload codec encrypts them too: error messages name objects, namespaces and buckets. Loaded
// by path (`failureConverterPath`): the worker bundles it into the workflow sandbox, where workflow code
// turns its errors into failures, and also uses it outside the sandbox for activity failures. The
// history then shows "Encoded failure" until a client with the key (or the codec server) decodes it.
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
