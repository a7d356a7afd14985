/**
 * One connection's side of its topics: the names it is subscribed to, kept
 * in step with the registry's members. Made at the first `subscribe`, so a
 * connection that never subscribes pays one null field.
 *
 * @module
 */
import { checkTopic, type TopicMember, type Topics } from './topics';

/** The topics one connection is in, and the registry that knows it. */
export class Subscriptions {
  private readonly names = new Set<string>();

  constructor(
    readonly registry: Topics,
    private readonly member: TopicMember,
  ) {}

  /** The names, read-only (a live view). */
  get view(): ReadonlySet<string> {
    return this.names;
  }

  subscribe(topic: string): boolean {
    checkTopic(topic);
    if (this.names.has(topic)) return false;
    this.names.add(topic);
    this.registry.add(this.member, topic);
    return true;
  }

  unsubscribe(topic: string): boolean {
    checkTopic(topic);
    if (!this.names.delete(topic)) return false;
    this.registry.remove(this.member, topic);
    return true;
  }

  /** The connection ended: out of every topic. */
  clear(): void {
    if (this.names.size === 0) return;
    this.registry.removeAll(this.member, this.names);
    this.names.clear();
  }
}
