/**
 * containerd's image records: a name pointing at a root descriptor, plus
 * labels.
 *
 * @module
 */

import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  type Image,
  Images,
  type ImageSchema,
} from "./gen/containerd/services/images/v1/images_pb.ts";
import { type Channel, present, unary } from "./_rpc.ts";

/** What `create` and `update` take: an image record, fields optional. */
export type ImageInit = MessageInitShape<typeof ImageSchema>;

/** containerd's images API. */
export interface ImagesClient {
  /** The record named `name`; NotFoundError when there is none. */
  get(name: string): Promise<Image>;
  /** Every record matching any of `filters` (none: all). */
  list(filters?: string[]): Promise<Image[]>;
  /** A new record; AlreadyExistsError when the name is taken. */
  create(image: ImageInit): Promise<Image>;
  /**
   * Changes record `image.name`; `fieldpaths` (`labels`, `labels.<key>`,
   * `target`) limit what changes (none: everything).
   */
  update(image: ImageInit, fieldpaths?: string[]): Promise<Image>;
  /** Deletes the record; `sync` waits for the garbage collection it allows. */
  delete(name: string, sync?: boolean): Promise<void>;
}

/** The images client on `channel`. */
export function imagesClient(channel: Channel): ImagesClient {
  return {
    async get(name) {
      const res = await unary(channel, Images.method.get, { name }, `get image ${name}`);
      return present(res.image, "image");
    },
    async list(filters = []) {
      const context = `list images (filters ${JSON.stringify(filters)})`;
      return (await unary(channel, Images.method.list, { filters }, context)).images;
    },
    async create(image) {
      const res = await unary(
        channel,
        Images.method.create,
        { image },
        `create image ${image.name}`,
      );
      return present(res.image, "image");
    },
    async update(image, fieldpaths = []) {
      const req = { image, updateMask: fieldpaths.length ? { paths: fieldpaths } : undefined };
      const res = await unary(channel, Images.method.update, req, `update image ${image.name}`);
      return present(res.image, "image");
    },
    async delete(name, sync = false) {
      await unary(channel, Images.method.delete, { name, sync }, `delete image ${name}`);
    },
  };
}
