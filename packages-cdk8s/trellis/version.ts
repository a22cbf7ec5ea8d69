/**
 * The version of Trellis this checkout is: the self-install package's version
 * and the tag of its default image. Kept equal to package.json's `version` (a
 * unit test checks), so the package program needs no JSON import.
 */
export const TRELLIS_VERSION = '0.1.0';

/** Where released images live; `trellis install --image` picks another. */
export const TRELLIS_IMAGE_REPOSITORY = 'ghcr.io/trellis-dev/trellis';

/** The image of this version. */
export const DEFAULT_IMAGE = `${TRELLIS_IMAGE_REPOSITORY}:${TRELLIS_VERSION}`;
