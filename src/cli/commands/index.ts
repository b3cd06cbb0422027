/** Every CLI command, in the order `--help` lists them. */
import type { CommandModule } from 'yargs';
import { inspectCommand } from './inspect';
import { planCommand } from './plan';
import { convertCommand } from './convert';
import { policiesCommand } from './policies';
import { validateCommand } from './validate';
import { graftCommand } from './graft';
import { publishCommand } from './publish';
import { runCommand } from './run';
import { smokeCommand } from './smoke';
import { assembleCommand } from './assemble';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [convertCommand, assembleCommand, graftCommand, planCommand, validateCommand, runCommand, smokeCommand, publishCommand, inspectCommand, policiesCommand];
