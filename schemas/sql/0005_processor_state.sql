-- miner_state holds every stateful processor's saved state per topic partition (the template miners and the
-- poll state machines): it is processor_state from here on. IF EXISTS: a rerun after the rename (a crash
-- before this migration was recorded) finds nothing to rename.
RENAME TABLE IF EXISTS {db}.miner_state TO {db}.processor_state;
