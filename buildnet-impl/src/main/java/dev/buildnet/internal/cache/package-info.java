/**
 * The content-addressed cache: {@link dev.buildnet.internal.cache.CacheKeyBuilder} computes a target's key
 * and the {@link dev.buildnet.internal.cache.KeyManifest} that explains it;
 * {@link dev.buildnet.internal.cache.DiskBlobStore} holds file contents by digest, verified on every read;
 * {@link dev.buildnet.internal.cache.TieredBlobStore} puts it in front of a shared
 * {@link dev.buildnet.api.blob.BlobStore} such as {@link dev.buildnet.blob.HttpBlobStore};
 * {@link dev.buildnet.internal.cache.ActionCache} maps a key to the {@link dev.buildnet.internal.cache.ActionManifest}
 * of a successful run; {@link dev.buildnet.internal.cache.Outputs} moves outputs between the workspace and
 * the store, restoring all-or-nothing.
 *
 * @since 0.1
 */
package dev.buildnet.internal.cache;

import dev.buildnet.blob.HttpBlobStore;
import dev.buildnet.internal.cache.ActionCache;
import dev.buildnet.internal.cache.ActionManifest;
import dev.buildnet.internal.cache.CacheKeyBuilder;
import dev.buildnet.internal.cache.DiskBlobStore;
import dev.buildnet.internal.cache.KeyManifest;
import dev.buildnet.internal.cache.Outputs;
import dev.buildnet.internal.cache.TieredBlobStore;
