/* Every domain-separation tag and KDF context sfj uses, in one place.
 *
 * Each names one purpose, so that a value made for one purpose can never
 * be taken for another. They are part of the format (docs/FORMAT.md) and
 * the wire (docs/PROTOCOL.md): changing one is a new format or protocol
 * version, never an edit. */
#ifndef SFJ_CRYPTO_TAGS_H
#define SFJ_CRYPTO_TAGS_H

/* KDF contexts: exactly crypto_kdf_CONTEXTBYTES (8) characters each. */
#define SFJ__CTX_EPOCH  "sfjepoch" /* epoch_key = KDF(master, epoch) */
#define SFJ__CTX_RECORD "sfjrecrd" /* record_key = KDF(epoch_key, seq) */
#define SFJ__CTX_TXNIDX "sfjtxnix" /* txn-id index key */
#define SFJ__CTX_LINK   "sfjlink1" /* ack / link authentication key */
#define SFJ__CTX_SIGN   "sfjsign1" /* Ed25519 checkpoint seed */
#define SFJ__CTX_CHECK  "sfjkchk1" /* key check value stored in meta */
#define SFJ__CTX_AMOUNT "sfjtxamt" /* amount box key = KDF(txnidx, 1) */

/* Prefixes of hashed, MACed or signed messages. */
#define SFJ__TAG_CHAIN  "sfj-chain-v1"  /* genesis of the hash chain */
#define SFJ__TAG_CKPT   "sfj-ckpt-v1"   /* checkpoint signature */
#define SFJ__TAG_ACK    "sfj-ack-v1"    /* ACK / HELLO_ACK MAC */
#define SFJ__TAG_HELLO  "sfj-hello-v1"  /* HELLO MAC */
#define SFJ__TAG_PRUNE  "sfj-prune-v1"  /* prune anchor signature */
#define SFJ__TAG_ROTATE "sfj-rotate-v1" /* key rotation record signature */

/* Wire protocol version 2 (docs/PROTOCOL.md section 4). */
#define SFJ__NOISE_NAME "Noise_NNpsk0_25519_ChaChaPoly_BLAKE2b"
#define SFJ__TAG_LINK   "sfj-link-v2" /* start of the handshake prologue */

#endif
