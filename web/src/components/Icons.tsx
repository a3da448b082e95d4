// Inline SVG icons (nothing is fetched from elsewhere). Decorative: the text beside
// each icon says the same, so they are hidden from assistive technology.
import type { JSX } from 'preact';

function Svg(props: { children: JSX.Element | JSX.Element[]; size?: number }) {
  const size = props.size ?? 14;
  return (
    <svg
      class="icon"
      width={size}
      height={size}
      viewBox="0 0 16 16"
      fill="none"
      stroke="currentColor"
      stroke-width="1.8"
      stroke-linecap="round"
      stroke-linejoin="round"
      aria-hidden="true"
      focusable="false"
    >
      {props.children}
    </svg>
  );
}

export const PauseIcon = () => <Svg><path d="M5.5 3.5v9M10.5 3.5v9" /></Svg>;
export const PlayIcon = () => <Svg><path d="M5 3.5l7 4.5-7 4.5z" fill="currentColor" /></Svg>;
export const StopIcon = () => <Svg><rect x="4" y="4" width="8" height="8" rx="1" /></Svg>;
export const CheckIcon = () => <Svg><path d="M3.5 8.5l3 3 6-7" /></Svg>;
export const CrossIcon = () => <Svg><path d="M4.5 4.5l7 7M11.5 4.5l-7 7" /></Svg>;
export const ClockIcon = () => <Svg><circle cx="8" cy="8" r="5.5" /><path d="M8 5v3.2l2 1.3" /></Svg>;
export const SpinnerIcon = () => <Svg><path d="M8 2.5a5.5 5.5 0 1 1-5.5 5.5" /></Svg>;
export const DotIcon = () => <Svg><circle cx="8" cy="8" r="2.5" fill="currentColor" /></Svg>;
export const RefreshIcon = () => <Svg><path d="M13 8a5 5 0 1 1-1.5-3.6M13 2.5v2.5h-2.5" /></Svg>;
export const ReplayIcon = () => <Svg><path d="M3 8a5 5 0 1 0 1.5-3.6M3 2.5v2.5h2.5" /></Svg>;
export const SkipIcon = () => <Svg><path d="M4 4l5 4-5 4M11.5 4v8" /></Svg>;
export const BellIcon = () => (
  <Svg size={18}>
    <path d="M4 11.5V7a4 4 0 0 1 8 0v4.5l1 1H3z" />
    <path d="M6.5 14a1.5 1.5 0 0 0 3 0" />
  </Svg>
);
export const WarningIcon = () => <Svg><path d="M8 2l6.5 11.5h-13zM8 6.5v3M8 11.6v.1" /></Svg>;
