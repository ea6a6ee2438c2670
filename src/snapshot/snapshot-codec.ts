import type { ParameterSetCodec } from "../rtp/parameter-set-store";

/** Video codecs a snapshot can be made of. */
export type SnapshotCodec = ParameterSetCodec;
