import { NotBuiltError } from '../errors.js';
import type { CommandIO, CommandResult, GlobalOptions } from './common.js';

export async function deployCommand(_opts: GlobalOptions, _io: CommandIO, _args: string[]): Promise<CommandResult> {
  throw new NotBuiltError('zdd deploy is not built yet', { hint: 'see the open issues of the zdd project' });
}
