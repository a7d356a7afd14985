/**
 * `@wsstack/redis`: a Redis pub/sub backplane for the topics of
 * `@wsstack/simple-websocket`, so a publish in one process reaches the
 * subscribers of every process, once.
 *
 * @packageDocumentation
 */
export { RedisBackplane, type RedisBackplaneOptions, type RedisBackplaneStats } from './redis-backplane';
