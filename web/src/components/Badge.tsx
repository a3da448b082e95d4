// Status badges. Each status has its own colour and icon and says its name in words,
// so colour is never the only cue: paused is yellow with a pause icon, running blue,
// cancelled an outline.
import type { ApprovalStatus, ConnectionStatus, Run, RunStatus, StepStatus, Workflow } from '../api';
import { title } from '../format';
import {
  CheckIcon,
  ClockIcon,
  CrossIcon,
  DotIcon,
  PauseIcon,
  SkipIcon,
  SpinnerIcon,
  StopIcon,
} from './Icons';

const ICONS: Record<string, () => preact.JSX.Element> = {
  pending: DotIcon,
  running: SpinnerIcon,
  paused: PauseIcon,
  waiting: ClockIcon,
  completed: CheckIcon,
  failed: CrossIcon,
  cancelled: StopIcon,
  skipped: SkipIcon,
  active: CheckIcon,
  disabled: StopIcon,
  paused_safety: PauseIcon,
  approved: CheckIcon,
  denied: CrossIcon,
  expired: ClockIcon,
  error: CrossIcon,
};

const LABELS: Record<string, string> = { paused_safety: 'Paused (safety)', error: 'Needs reauth' };

export function StatusBadge(props: {
  status: RunStatus | StepStatus | Workflow['status'] | ApprovalStatus | ConnectionStatus;
  label?: string;
}) {
  const Icon = ICONS[props.status] ?? DotIcon;
  return (
    <span class={`badge badge--${props.status}`} data-status={props.status}>
      <Icon />
      {props.label ?? LABELS[props.status] ?? title(props.status)}
    </span>
  );
}

// A run's status; a run held for reauthorization says so.
export function RunStatusBadge(props: { run: Run }) {
  const { run } = props;
  return <StatusBadge status={run.status} label={run.pause?.reason === 'reauth' ? 'Paused for reauth' : undefined} />;
}
